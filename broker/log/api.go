package log

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"
)

// Errors. The Kafka layer maps these to error codes in one place.
var (
	// ErrOffsetOutOfRange: a read below the log start offset or above the end offset.
	ErrOffsetOutOfRange = errors.New("log: offset out of range")
	// ErrBatchTooLarge: a batch larger than max.message.bytes (MESSAGE_TOO_LARGE).
	ErrBatchTooLarge = errors.New("log: batch larger than max.message.bytes")
	// ErrClosed: the log was closed or deleted.
	ErrClosed = errors.New("log: closed")
	// ErrCorruptSegment: a damaged batch in the middle of an older segment, found on
	// recovery or read. It is reported, never skipped silently.
	ErrCorruptSegment = errors.New("log: corrupt segment")
)

// OutOfRangeError carries the log bounds at the time of a failed read.
type OutOfRangeError struct {
	Offset, Start, End int64
}

func (e *OutOfRangeError) Error() string {
	return fmt.Sprintf("log: offset %d out of range [%d, %d]", e.Offset, e.Start, e.End)
}

// Is makes errors.Is(err, ErrOffsetOutOfRange) true.
func (e *OutOfRangeError) Is(target error) bool { return target == ErrOffsetOutOfRange }

// Option configures Open and NewManager.
type Option func(*options)

type options struct {
	now    func() time.Time
	logger *slog.Logger
}

// WithClock injects the clock used for segment.ms, retention, LogAppendTime and
// flush.ms, so tests control time. Default time.Now.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithLogger sets the logger. Default slog.Default().
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// AppendInfo describes what Append wrote.
type AppendInfo struct {
	BaseOffset    int64 // offset of the first record written
	LastOffset    int64 // offset of the last record written
	LogAppendTime int64 // broker time stamped into the batches, or -1 with CreateTime
	MaxTimestamp  int64 // largest timestamp among the batches
	NumRecords    int64
	Bytes         int64
}

// Region is a byte range of a segment file holding whole batches. File stays open
// until the ReadResult that returned it is released, even if the segment is deleted
// meanwhile. Readers must use positional reads (ReadAt, or sendfile with an explicit
// offset): the file's shared offset is not theirs.
type Region struct {
	File *os.File
	Pos  int64
	Len  int64
}

// ReadResult is whole batches from the log, as file regions.
type ReadResult struct {
	Regions []Region
	Size    int64 // sum of region lengths
	// NextOffset is the offset after the last batch returned (where the next read starts).
	NextOffset int64
	release    func()
}

// Release lets deleted segments close their files. Safe to call more than once.
func (r *ReadResult) Release() {
	if r.release != nil {
		r.release()
		r.release = nil
	}
}

// AppendBytes copies the regions' bytes onto dst with positional reads.
func (r *ReadResult) AppendBytes(dst []byte) ([]byte, error) {
	for _, reg := range r.Regions {
		n := len(dst)
		dst = append(dst, make([]byte, reg.Len)...)
		if _, err := reg.File.ReadAt(dst[n:], reg.Pos); err != nil {
			return dst[:n], fmt.Errorf("read %s at %d: %w", reg.File.Name(), reg.Pos, err)
		}
	}
	return dst, nil
}

// CleanStats reports one retention or compaction pass.
type CleanStats struct {
	SegmentsDeleted   int
	SegmentsRewritten int
	BytesBefore       int64
	BytesAfter        int64
	RecordsRemoved    int64
}
