package log

import (
	"errors"
	"fmt"
	"os"

	"github.com/tributary-io/tributary/broker/record"
)

// Truncate removes every record at or after offset (a follower diverging from its leader).
// Truncating into the middle of a batch removes the whole batch, and the end offset
// becomes that batch's base (or the start offset, if the batch straddles it).
// Truncating at or below the start offset empties the log and restarts it at
// offset. Readers holding regions past the cut may read short.
func (l *Log) Truncate(offset int64) error {
	l.cpMu.Lock()
	defer l.cpMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() {
		return ErrClosed
	}
	if offset < 0 {
		return fmt.Errorf("truncate to %d: negative offset", offset)
	}
	if offset >= l.end.Load() {
		return nil
	}
	if offset <= l.start.Load() {
		return l.resetLocked(offset)
	}
	segs := l.list()
	buf := make([]byte, record.HeaderSize)
	i, pos, newEnd := len(segs), int64(0), offset
	for j := findSegment(segs, offset); j < len(segs); j++ {
		p, h, found, err := segs[j].find(buf, offset, segs[j].locate(offset))
		if err != nil {
			return fmt.Errorf("truncate to %d: %w", offset, err)
		}
		if found {
			i, pos, newEnd = j, p, min(offset, h.BaseOffset)
			break
		}
	}
	// A removed batch may straddle the start offset; the start never moves back.
	newEnd = max(newEnd, l.start.Load())
	// Lower the checkpoint before cutting, so no later crash trusts bytes that
	// are appended where the cut ones were.
	cp := l.onDisk
	cp.recovery, cp.cleaned = min(cp.recovery, newEnd), min(cp.cleaned, newEnd)
	if err := l.writeCheckpointLocked(cp); err != nil {
		return fmt.Errorf("truncate to %d: %w", offset, err)
	}
	l.cleanedTo = min(l.cleanedTo, newEnd)
	// Bump the generation before any file shrinks, so a read or compaction
	// pass that runs into the cut knows to retry or give up.
	l.gen.Add(1)
	// Segments based at or after the new end go whole (the first one stays,
	// emptied, when the log keeps nothing); the one holding the first removed
	// batch is cut there. Batches before that one all end below newEnd.
	keep := 1
	for keep < len(segs) && segs[keep].base < newEnd {
		keep++
	}
	switch {
	case i < keep:
		if err := l.cutSegmentLocked(segs[i], pos, buf); err != nil {
			return fmt.Errorf("truncate to %d: %w", offset, err)
		}
	case segs[0].base >= newEnd:
		if err := l.cutSegmentLocked(segs[0], 0, buf); err != nil {
			return fmt.Errorf("truncate to %d: %w", offset, err)
		}
	}
	removed := segs[keep:]
	l.publish(segs[:keep:keep])
	l.gen.Add(1)
	if err := l.deleteSegmentsLocked(removed); err != nil {
		return fmt.Errorf("truncate to %d: %w", offset, err)
	}
	return l.endGapLocked(newEnd)
}

// endGapLocked sets the end offset after a truncation. When the remaining
// batches end below it (the cut fell in a gap, or a removed batch straddled
// the start offset), an empty segment based at the new end records it, so a
// reopened log ends at the same offset: the end is always the active segment's
// next offset.
// REQUIRES: mu.
func (l *Log) endGapLocked(newEnd int64) error {
	l.gen.Add(1)
	if s := l.active(); s.next < newEnd {
		if _, err := l.rollLocked(newEnd); err != nil {
			return fmt.Errorf("truncate to %d: %w", newEnd, err)
		}
	}
	l.end.Store(newEnd)
	return nil
}

// resetLocked empties the log and restarts it at offset.
// REQUIRES: cpMu and mu.
func (l *Log) resetLocked(offset int64) error {
	cp := checkpoint{start: offset, recovery: min(l.onDisk.recovery, offset), cleaned: offset}
	if err := l.writeCheckpointLocked(cp); err != nil {
		return fmt.Errorf("truncate to %d: %w", offset, err)
	}
	old := l.list()
	l.gen.Add(1) // before any file changes; see Truncate
	// The new segment replaces the files of an old one with the same base.
	s, err := newSegment(l.dir, offset)
	if err != nil {
		return fmt.Errorf("truncate to %d: %w", offset, err)
	}
	var errs []error
	for _, o := range old {
		if o.base != offset {
			if err := removeSegmentFiles(l.dir, o.base); err != nil {
				errs = append(errs, err)
			}
		}
		o.file.release()
	}
	l.dirDirty = true
	l.publish([]*segment{s})
	l.start.Store(offset)
	l.end.Store(offset)
	l.cleanedTo = offset
	l.gen.Add(1)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("truncate to %d: %w", offset, err)
	}
	return nil
}

// cutSegmentLocked truncates s to its first pos bytes and recomputes what the
// removed batches contributed to its indexes and bounds.
// REQUIRES: mu.
func (l *Log) cutSegmentLocked(s *segment, pos int64, buf []byte) error {
	// The walk below starts at the last index entry before the cut; an entry
	// that disagrees with the log gets the index rebuilt first.
	n := sortSearchPos(s.index, pos-1) + 1
	if !s.indexBad.Load() && n > 0 {
		e := s.index[n-1]
		if h, err := s.readHeader(buf, int64(e.pos), s.size); err != nil || h.BaseOffset != s.base+int64(e.rel) {
			s.indexBad.Store(true)
		}
	}
	if s.indexBad.Load() {
		if err := l.rebuildIndexLocked(s); err != nil {
			return err
		}
		n = sortSearchPos(s.index, pos-1) + 1
	}
	from, fromOff := int64(0), s.base
	if n > 0 {
		from, fromOff = int64(s.index[n-1].pos), s.base+int64(s.index[n-1].rel)
	}
	// Time entries naming batches before from stay; the walk from there
	// recomputes the largest timestamp and the next offset. Nothing changes
	// until the walk has succeeded.
	keep := 0
	for keep < len(s.tindex) && s.base+int64(s.tindex[keep].rel) < fromOff {
		keep++
	}
	maxTs, maxOff := int64(-1), s.base
	if keep > 0 {
		maxTs, maxOff = s.tindex[keep-1].ts, s.base+int64(s.tindex[keep-1].rel)
	}
	next := s.base
	for p := from; p < pos; {
		h, err := s.readHeader(buf, p, pos)
		if err != nil {
			return err
		}
		if h.MaxTimestamp > maxTs {
			maxTs, maxOff = h.MaxTimestamp, h.BaseOffset
		}
		next = h.LastOffset() + 1
		p += int64(h.Size())
	}
	if err := s.file.f.Truncate(pos); err != nil {
		return fmt.Errorf("truncate %s to %d: %w", s.path(logExt), pos, err)
	}
	s.mu.Lock()
	s.size, s.next = pos, next
	s.index, s.tindex = s.index[:n], s.tindex[:keep]
	s.maxTs, s.maxOff = maxTs, maxOff
	s.mu.Unlock()
	s.sinceIndex = pos - from
	s.flushedSize = min(s.flushedSize, pos)
	s.flushedNext = min(s.flushedNext, s.next)
	s.idxOnDisk = min(s.idxOnDisk, len(s.index))
	s.tidxOnDisk = min(s.tidxOnDisk, len(s.tindex))
	s.idxCut = true
	return s.writeIndexesLocked()
}

// AdvanceStartOffset moves the log start offset forward (DeleteRecords) and deletes
// segments wholly below it. Offsets below the new start become unreadable at once.
// The new start is in the checkpoint before this returns, so it survives a crash.
func (l *Log) AdvanceStartOffset(offset int64) error {
	l.cpMu.Lock()
	defer l.cpMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() {
		return ErrClosed
	}
	start, end := l.start.Load(), l.end.Load()
	if offset <= start {
		return nil
	}
	if offset > end {
		return &OutOfRangeError{Offset: offset, Start: start, End: end}
	}
	cp := l.onDisk
	cp.start = offset
	if err := l.writeCheckpointLocked(cp); err != nil {
		return fmt.Errorf("advance start offset to %d: %w", offset, err)
	}
	l.start.Store(offset)
	segs := l.list()
	n := 0
	for n < len(segs)-1 && segs[n+1].base <= offset {
		n++
	}
	if n == 0 {
		return nil
	}
	l.publish(segs[n:])
	l.gen.Add(1)
	if err := l.deleteSegmentsLocked(segs[:n]); err != nil {
		return fmt.Errorf("advance start offset to %d: %w", offset, err)
	}
	return nil
}

// writeCheckpointLocked writes cp as the checkpoint on disk.
// REQUIRES: cpMu and mu.
func (l *Log) writeCheckpointLocked(cp checkpoint) error {
	cp.indexes = nil // the change being recorded may touch index files
	if cp == l.onDisk {
		return nil
	}
	if err := writeCheckpoint(l.dir, cp); err != nil {
		return err
	}
	l.onDisk = cp
	return nil
}

// deleteSegmentsLocked removes segments already taken out of the list: their
// files are unlinked now and closed when the last reader releases them.
// REQUIRES: mu.
func (l *Log) deleteSegmentsLocked(segs []*segment) error {
	var errs []error
	for _, s := range segs {
		if err := removeSegmentFiles(l.dir, s.base); err != nil {
			errs = append(errs, err)
		}
		s.file.release()
	}
	return errors.Join(errs...)
}

// rebuildIndexLocked rebuilds a segment's indexes from its batch headers after
// a reader found an entry that disagrees with the log.
// REQUIRES: mu.
func (l *Log) rebuildIndexLocked(s *segment) error {
	interval := l.cfg.Load().IndexIntervalBytes
	buf := make([]byte, record.HeaderSize)
	fresh := &segment{base: s.base, next: s.base, maxTs: -1, maxOff: s.base}
	for pos := int64(0); pos < s.size; {
		h, err := s.readHeader(buf, pos, s.size)
		if err != nil {
			return fmt.Errorf("rebuild index: %w", err)
		}
		fresh.addBatchLocked(pos, h, interval)
		pos += int64(h.Size())
	}
	if s != l.active() {
		fresh.addTimeEntryLocked()
	}
	s.mu.Lock()
	s.index, s.tindex, s.sinceIndex = fresh.index, fresh.tindex, fresh.sinceIndex
	s.maxTs, s.maxOff = fresh.maxTs, fresh.maxOff
	s.mu.Unlock()
	s.indexBad.Store(false)
	l.logger.Warn("rebuilt segment indexes that disagreed with the log", "segment", s.path(logExt))
	return s.rewriteIndexesLocked()
}

// segmentTime is the unix ms retention.ms counts from: the segment's largest
// timestamp, or its file's modification time when no batch has one.
func segmentTime(s *segment) int64 {
	if s.maxTs >= 0 {
		return s.maxTs
	}
	fi, err := os.Stat(s.path(logExt))
	if err != nil {
		return 0 // gone or unreadable: nothing worth keeping for
	}
	return fi.ModTime().UnixMilli()
}
