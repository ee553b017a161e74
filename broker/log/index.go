package log

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"sort"
)

// Entry sizes on disk (see format.go).
const (
	indexEntrySize     = 8
	timeIndexEntrySize = 12
)

// indexEntry maps a batch's base offset (relative to the segment base) to the
// position where the batch starts in the .log file.
type indexEntry struct {
	rel uint32
	pos uint32
}

// timeEntry says that no batch up to the one based at rel (relative) has a
// timestamp above ts, and that this batch has ts as its maxTimestamp.
type timeEntry struct {
	ts  int64
	rel uint32
}

// appendIndexBytes encodes entries onto dst.
func appendIndexBytes(dst []byte, es []indexEntry) []byte {
	for _, e := range es {
		dst = binary.BigEndian.AppendUint32(dst, e.rel)
		dst = binary.BigEndian.AppendUint32(dst, e.pos)
	}
	return dst
}

// appendTimeIndexBytes encodes entries onto dst.
func appendTimeIndexBytes(dst []byte, es []timeEntry) []byte {
	for _, e := range es {
		dst = binary.BigEndian.AppendUint64(dst, uint64(e.ts))
		dst = binary.BigEndian.AppendUint32(dst, e.rel)
	}
	return dst
}

// errBadIndex marks an index file that cannot be trusted; the segment is rebuilt.
var errBadIndex = errors.New("invalid index")

// parseIndex decodes an offset index for a segment whose .log file is logSize
// bytes and whose relative offsets are at most maxRel. Any structural problem
// (a partial entry, entries out of order, a position past the file) rejects
// the whole file: a half-trusted index buys nothing over a rebuild.
func parseIndex(b []byte, logSize int64, maxRel uint64) ([]indexEntry, error) {
	if len(b)%indexEntrySize != 0 {
		return nil, fmt.Errorf("%d bytes is not a whole number of entries: %w", len(b), errBadIndex)
	}
	es := make([]indexEntry, len(b)/indexEntrySize)
	for i := range es {
		e := indexEntry{
			rel: binary.BigEndian.Uint32(b[i*indexEntrySize:]),
			pos: binary.BigEndian.Uint32(b[i*indexEntrySize+4:]),
		}
		switch {
		case e.pos == 0 || int64(e.pos)+minBatchSize > logSize:
			return nil, fmt.Errorf("entry %d: position %d outside the segment: %w", i, e.pos, errBadIndex)
		case uint64(e.rel) > maxRel:
			return nil, fmt.Errorf("entry %d: relative offset %d past the segment: %w", i, e.rel, errBadIndex)
		case i > 0 && (e.rel <= es[i-1].rel || e.pos <= es[i-1].pos):
			return nil, fmt.Errorf("entry %d out of order: %w", i, errBadIndex)
		}
		es[i] = e
	}
	return es, nil
}

// parseTimeIndex decodes a time index with the same all-or-nothing rule.
func parseTimeIndex(b []byte, maxRel uint64) ([]timeEntry, error) {
	if len(b)%timeIndexEntrySize != 0 {
		return nil, fmt.Errorf("%d bytes is not a whole number of entries: %w", len(b), errBadIndex)
	}
	es := make([]timeEntry, len(b)/timeIndexEntrySize)
	for i := range es {
		e := timeEntry{
			ts:  int64(binary.BigEndian.Uint64(b[i*timeIndexEntrySize:])),
			rel: binary.BigEndian.Uint32(b[i*timeIndexEntrySize+8:]),
		}
		switch {
		case uint64(e.rel) > maxRel:
			return nil, fmt.Errorf("entry %d: relative offset %d past the segment: %w", i, e.rel, errBadIndex)
		case i > 0 && (e.ts <= es[i-1].ts || e.rel < es[i-1].rel):
			return nil, fmt.Errorf("entry %d out of order: %w", i, errBadIndex)
		}
		es[i] = e
	}
	return es, nil
}

// searchIndex returns the last entry whose relative offset is at most rel, or
// -1 when there is none (the batch is then found by scanning from position 0).
func searchIndex(es []indexEntry, rel uint64) int {
	return sort.Search(len(es), func(i int) bool { return uint64(es[i].rel) > rel }) - 1
}

// searchTimeIndex returns the last entry whose timestamp is below ts, or -1.
func searchTimeIndex(es []timeEntry, ts int64) int {
	return sort.Search(len(es), func(i int) bool { return es[i].ts >= ts }) - 1
}

// relOffset converts an absolute offset to one relative to base, clamped to the
// uint64 range so comparisons with stored uint32 entries stay correct.
func relOffset(base, off int64) uint64 {
	if off <= base {
		return 0
	}
	return uint64(off - base)
}

// readIndexFile reads a whole index file; a missing file is reported as
// errBadIndex, since every non-empty segment is given index files.
func readIndexFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s missing: %w", path, errBadIndex)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}

// maxRelOffset is the largest relative offset an index can hold.
const maxRelOffset = math.MaxUint32
