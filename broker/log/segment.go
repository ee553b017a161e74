package log

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/tributary-io/tributary/broker/record"
)

// minBatchSize is the smallest possible batch: a header with no records.
const minBatchSize = record.HeaderSize

// segFile is a segment's .log file shared by the segment and the reads that
// returned regions of it. The segment holds one reference while it is in the
// log; each ReadResult holds one more. The last release closes the file, so a
// segment deleted by retention stays readable until its readers are done.
type segFile struct {
	f    *os.File
	refs atomic.Int64
}

func newSegFile(f *os.File) *segFile {
	sf := &segFile{f: f}
	sf.refs.Store(1)
	return sf
}

// acquire takes a reference unless the file is already closed.
func (sf *segFile) acquire() bool {
	for {
		n := sf.refs.Load()
		if n <= 0 {
			return false
		}
		if sf.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// release drops a reference and closes the file with the last one.
func (sf *segFile) release() {
	if sf.refs.Add(-1) == 0 {
		_ = sf.f.Close() // nothing was written through this reference
	}
}

// segment is one <base>.log file and its indexes.
//
// Fields under mu are read by concurrent readers and changed only by a writer
// that also holds Log.mu; the writer may read them without mu. The fields below
// the second group are owned by Log.mu alone.
type segment struct {
	dir  string
	base int64
	file *segFile

	mu     sync.RWMutex
	size   int64        // bytes of whole batches; readers never look past it
	next   int64        // offset after the segment's last batch; base when empty
	index  []indexEntry // sparse offset index
	tindex []timeEntry  // sparse time index
	maxTs  int64        // largest batch maxTimestamp, -1 when none
	maxOff int64        // base offset of the batch holding maxTs

	// indexBad is set by a reader that found an index entry pointing at the
	// wrong batch; lookups then ignore the index until it is rebuilt.
	indexBad atomic.Bool

	// Owned by Log.mu.
	sinceIndex  int64 // bytes appended since the last index entry
	idxOnDisk   int   // index entries already in the .index file
	tidxOnDisk  int   // entries already in the .timeindex file
	idxUnsynced bool  // index files written since their last fsync
	idxCut      bool  // the files hold entries past idxOnDisk/tidxOnDisk
	rollBase    int64 // unix ms the segment.ms age counts from; 0 until the first append
	flushedSize int64 // bytes known to be on disk
	flushedNext int64 // offset after the last batch known to be on disk
}

// newSegment creates an empty segment file and empty index files, replacing any
// files of those names, so a non-empty segment without index files is damaged.
func newSegment(dir string, base int64) (*segment, error) {
	for _, ext := range []string{indexExt, timeIndexExt} {
		path := segmentPath(dir, base, ext)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return nil, fmt.Errorf("create index %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("create index %s: %w", path, err)
		}
	}
	path := segmentPath(dir, base, logExt)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create segment %s: %w", path, err)
	}
	return newSegmentFrom(dir, base, f), nil
}

// newSegmentFrom wraps an open, empty-state segment file.
func newSegmentFrom(dir string, base int64, f *os.File) *segment {
	return &segment{
		dir: dir, base: base, file: newSegFile(f),
		next: base, maxTs: -1, maxOff: base,
		flushedNext: base,
	}
}

func (s *segment) path(ext string) string { return segmentPath(s.dir, s.base, ext) }

// addBatchLocked records a batch written at pos in the in-memory indexes.
// REQUIRES: Log.mu and s.mu held for writing (or s not yet shared).
func (s *segment) addBatchLocked(pos int64, h record.Header, interval int64) {
	if h.MaxTimestamp > s.maxTs {
		s.maxTs, s.maxOff = h.MaxTimestamp, h.BaseOffset
	}
	if pos > 0 && s.sinceIndex >= interval {
		s.index = append(s.index, indexEntry{rel: uint32(h.BaseOffset - s.base), pos: uint32(pos)})
		s.addTimeEntryLocked()
		s.sinceIndex = 0
	}
	s.sinceIndex += int64(h.Size())
	s.size = pos + int64(h.Size())
	s.next = max(s.next, h.LastOffset()+1)
}

// addTimeEntryLocked appends the largest timestamp so far when it grew.
func (s *segment) addTimeEntryLocked() {
	if s.maxTs < 0 {
		return
	}
	if n := len(s.tindex); n > 0 && s.tindex[n-1].ts >= s.maxTs {
		return
	}
	s.tindex = append(s.tindex, timeEntry{ts: s.maxTs, rel: uint32(s.maxOff - s.base)})
}

// writeIndexesLocked writes index entries not yet on disk, without fsync. After
// entries were removed (truncation), idxOnDisk/tidxOnDisk were lowered and the
// files are cut to them first.
// REQUIRES: Log.mu.
func (s *segment) writeIndexesLocked() error {
	if !s.indexesPending() {
		return nil
	}
	if err := writeEntries(s.path(indexExt), s.idxOnDisk, len(s.index), indexEntrySize,
		func(b []byte) []byte { return appendIndexBytes(b, s.index[s.idxOnDisk:]) }); err != nil {
		return err
	}
	s.idxOnDisk = len(s.index)
	if err := writeEntries(s.path(timeIndexExt), s.tidxOnDisk, len(s.tindex), timeIndexEntrySize,
		func(b []byte) []byte { return appendTimeIndexBytes(b, s.tindex[s.tidxOnDisk:]) }); err != nil {
		return err
	}
	s.tidxOnDisk = len(s.tindex)
	s.idxUnsynced = true
	s.idxCut = false
	return nil
}

// indexesPending reports in-memory index entries not yet in the files.
// REQUIRES: Log.mu.
func (s *segment) indexesPending() bool {
	return s.idxOnDisk != len(s.index) || s.tidxOnDisk != len(s.tindex) || s.idxCut
}

// writeEntries brings an index file from onDisk to n entries of size bytes.
func writeEntries(path string, onDisk, n, size int, encode func([]byte) []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	werr := func() error {
		if err := f.Truncate(int64(onDisk * size)); err != nil {
			return err
		}
		if n > onDisk {
			if _, err := f.WriteAt(encode(nil), int64(onDisk*size)); err != nil {
				return err
			}
		}
		return nil
	}()
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// rewriteIndexesLocked replaces both index files with the in-memory entries.
// REQUIRES: Log.mu.
func (s *segment) rewriteIndexesLocked() error {
	s.idxOnDisk, s.tidxOnDisk, s.idxCut = 0, 0, true
	return s.writeIndexesLocked()
}

// syncIndexes fsyncs both index files.
func (s *segment) syncIndexes() error {
	for _, ext := range []string{indexExt, timeIndexExt} {
		if err := syncPath(s.path(ext)); err != nil {
			return err
		}
	}
	return nil
}

// syncPath opens a file or folder and fsyncs it.
func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(serr, cerr); err != nil {
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	return nil
}

// removeFiles deletes the segment's files; a missing file is not an error.
func removeSegmentFiles(dir string, base int64) error {
	var errs []error
	for _, ext := range segmentExts {
		if err := os.Remove(segmentPath(dir, base, ext)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// view is a consistent snapshot of what a reader needs from the segment.
type view struct {
	size     int64
	startPos int64 // where to start scanning for the wanted offset
	entryOff int64 // base offset the batch at startPos must have, -1 when unchecked
}

// locate returns where to start scanning for offset.
func (s *segment) locate(offset int64) view {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v := view{size: s.size, entryOff: -1}
	if s.indexBad.Load() {
		return v
	}
	if i := searchIndex(s.index, relOffset(s.base, offset)); i >= 0 {
		v.startPos = int64(s.index[i].pos)
		v.entryOff = s.base + int64(s.index[i].rel)
	}
	return v
}

// lastEntryBefore returns the last index entry whose position is at most pos and
// whose offset is below upTo, as an absolute (offset, position); ok is false when
// there is none past from.
func (s *segment) lastEntryBefore(from, pos, upTo int64) (off, at int64, ok bool) {
	if upTo <= s.base {
		return 0, 0, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.indexBad.Load() {
		return 0, 0, false
	}
	// Both fields increase, so each condition holds on a prefix of the entries.
	i := min(sortSearchPos(s.index, pos), searchIndex(s.index, uint64(upTo-1-s.base)))
	if i < 0 || int64(s.index[i].pos) <= from {
		return 0, 0, false
	}
	return s.base + int64(s.index[i].rel), int64(s.index[i].pos), true
}

// sortSearchPos returns the last entry whose position is at most pos, or -1.
func sortSearchPos(es []indexEntry, pos int64) int {
	lo, hi := 0, len(es)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if int64(es[m].pos) <= pos {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1
}

// readHeader reads and parses the batch header at pos, which must lie inside
// size bytes of whole batches. Any failure means the segment is damaged.
func (s *segment) readHeader(buf []byte, pos, size int64) (record.Header, error) {
	if pos+minBatchSize > size {
		return record.Header{}, s.corrupt(pos, fmt.Errorf("batch header past the end (%d bytes)", size))
	}
	if _, err := s.file.f.ReadAt(buf[:record.HeaderSize], pos); err != nil {
		if errors.Is(err, io.EOF) {
			// The file is shorter than the size the log holds: truncated under
			// a reader, or damaged. Either way the read cannot continue.
			return record.Header{}, s.corrupt(pos, fmt.Errorf("file shorter than %d bytes", size))
		}
		return record.Header{}, fmt.Errorf("read %s at %d: %w", s.path(logExt), pos, err)
	}
	h, err := record.ParseHeader(buf)
	if err != nil {
		return h, s.corrupt(pos, err)
	}
	if pos+int64(h.Size()) > size {
		return h, s.corrupt(pos, fmt.Errorf("batch of %d bytes past the end (%d bytes)", h.Size(), size))
	}
	return h, nil
}

// corrupt wraps a damage report with the file and position.
func (s *segment) corrupt(pos int64, err error) error {
	return fmt.Errorf("%w: %s at byte %d: %w", ErrCorruptSegment, s.path(logExt), pos, err)
}
