package log

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/tributary-io/tributary/broker/record"
)

// scanBufferSize is the read-ahead of recovery and compaction scans.
const scanBufferSize = 256 << 10

// batchScanner reads whole batches from a region of a segment file in order,
// with positional reads only, for recovery and compaction.
type batchScanner struct {
	r   *bufio.Reader
	pos int64 // position of the next batch
	end int64
	buf []byte
}

func newBatchScanner(f io.ReaderAt, from, end int64) *batchScanner {
	return &batchScanner{
		r:   bufio.NewReaderSize(io.NewSectionReader(f, from, end-from), scanBufferSize),
		pos: from,
		end: end,
	}
}

// errTorn marks a batch cut short by the end of the region: a torn write.
var errTorn = errors.New("torn batch")

// next returns the next whole batch (valid until the following call), its header
// and position. It returns io.EOF at the end of the region, an error wrapping
// errTorn for a partial batch, a record package error for a bad header, and any
// other error for a failed read.
func (sc *batchScanner) next() (batch []byte, h record.Header, pos int64, err error) {
	pos = sc.pos
	left := sc.end - pos
	if left == 0 {
		return nil, h, pos, io.EOF
	}
	if left < minBatchSize {
		return nil, h, pos, fmt.Errorf("%d bytes after the last batch: %w", left, errTorn)
	}
	if cap(sc.buf) < record.HeaderSize {
		sc.buf = make([]byte, 0, 64<<10)
	}
	hdr := sc.buf[:record.HeaderSize]
	if err := readFull(sc.r, hdr); err != nil {
		return nil, h, pos, err
	}
	if h, err = record.ParseHeader(hdr); err != nil {
		return nil, h, pos, err
	}
	size := int64(h.Size())
	if size > left {
		return nil, h, pos, fmt.Errorf("batch of %d bytes with %d left: %w", size, left, errTorn)
	}
	if int64(cap(sc.buf)) < size {
		grown := make([]byte, size)
		copy(grown, hdr)
		sc.buf = grown
	}
	batch = sc.buf[:size]
	if err := readFull(sc.r, batch[record.HeaderSize:]); err != nil {
		return nil, h, pos, err
	}
	sc.pos += size
	return batch, h, pos, nil
}

// readFull reads exactly len(b) bytes; a short file reads as a torn batch.
func readFull(r io.Reader, b []byte) error {
	if _, err := io.ReadFull(r, b); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("file ends inside a batch: %w", errTorn)
		}
		return err
	}
	return nil
}

// isDamage reports whether a scan error describes the data (torn or invalid
// batch) rather than a failed read.
func isDamage(err error) bool {
	for _, target := range []error{errTorn, record.ErrTooShort, record.ErrCorrupt, record.ErrCRC,
		record.ErrUnsupportedMagic, record.ErrInvalidRecord, errOffsetOrder} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// errOffsetOrder marks a batch whose offsets break the segment's order.
var errOffsetOrder = errors.New("offsets out of order")

// fileSize returns the size of an open file.
func fileSize(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("stat %s: %w", f.Name(), err)
	}
	return fi.Size(), nil
}
