package log

import (
	"fmt"

	"github.com/tributary-io/tributary/broker/record"
)

// readRetries bounds how often a read restarts because a segment it looked at
// was deleted before it could take a reference.
const readRetries = 100

// Read returns whole batches starting with the one that contains offset, up to
// maxBytes, and never a batch whose last offset is >= upTo (the high watermark or
// last stable offset). When the first batch alone exceeds maxBytes it is returned
// anyway if minOne is true (Kafka's KIP-74 rule), else nothing. offset == EndOffset()
// returns an empty result; offset outside [StartOffset, EndOffset] returns an
// *OutOfRangeError.
//
// A read may span segments (one Region each). It takes no Log lock, so it never
// waits for an append, an fsync or a compaction. Its regions stay valid after a
// concurrent retention or compaction until Release; a concurrent Truncate may
// shorten them, as in Kafka. Batch headers are checked as they are walked; a
// damaged one fails the read with ErrCorruptSegment. CRCs are not checked here
// (they were on append and recovery; consumers check them too), so the bytes
// can go out with sendfile untouched.
func (l *Log) Read(offset int64, maxBytes int64, upTo int64, minOne bool) (ReadResult, error) {
	for range readRetries {
		res, ok, err := l.read(offset, maxBytes, upTo, minOne)
		if ok || err != nil {
			return res, err
		}
	}
	return ReadResult{}, fmt.Errorf("read at %d: segments kept disappearing: %w", offset, ErrClosed)
}

// read is one attempt of Read; ok is false when it must be retried.
func (l *Log) read(offset, maxBytes, upTo int64, minOne bool) (res ReadResult, ok bool, err error) {
	if l.closed.Load() {
		return res, false, ErrClosed
	}
	// end before the segments: every offset below end is in the list loaded after.
	gen := l.gen.Load()
	end := l.end.Load()
	start := l.start.Load()
	segs := l.list()
	if offset < start || offset > end {
		return res, false, &OutOfRangeError{Offset: offset, Start: start, End: end}
	}
	res.NextOffset = offset
	if offset == end || offset >= upTo {
		return res, true, nil
	}
	buf := make([]byte, record.HeaderSize)
	var held []*segFile
	releaseAll := func() {
		for _, f := range held {
			f.release()
		}
	}
	budget := maxBytes
	next := offset
	for i := findSegment(segs, offset); i < len(segs); i++ {
		s := segs[i]
		if !s.file.acquire() {
			releaseAll()
			return ReadResult{}, false, nil
		}
		v := s.locate(next)
		pos, h, found, err := s.find(buf, next, v)
		if err == nil && found && h.LastOffset() < upTo {
			var more bool
			var endPos, nextOff int64
			more, endPos, nextOff, err = s.extent(buf, pos, h, v.size, budget, upTo, minOne && len(held) == 0)
			if err == nil && endPos > pos {
				held = append(held, s.file)
				res.Regions = append(res.Regions, Region{File: s.file.f, Pos: pos, Len: endPos - pos})
				res.Size += endPos - pos
				res.NextOffset = nextOff
				budget -= endPos - pos
				next = nextOff
				if more && budget > 0 {
					continue
				}
			}
		}
		if len(held) == 0 || held[len(held)-1] != s.file {
			s.file.release()
		}
		if err != nil {
			releaseAll()
			if l.gen.Load() != gen {
				// A truncation cut the segment under this read: try again
				// on the new segment list rather than report damage.
				return ReadResult{}, false, nil
			}
			return ReadResult{}, false, fmt.Errorf("read at %d: %w", offset, err)
		}
		if found {
			break // stopped by upTo or the byte budget
		}
	}
	if len(held) > 0 {
		res.release = releaseAll
	}
	return res, true, nil
}

// findSegment returns the last segment whose base is at most offset, or 0.
func findSegment(segs []*segment, offset int64) int {
	lo, hi := 0, len(segs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if segs[m].base <= offset {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return max(lo-1, 0)
}

// find returns the first batch in s whose last offset is at least offset,
// scanning from v (see locate); found is false when the segment has none. An
// index entry pointing at the wrong batch marks the index bad and the scan
// restarts from the segment's start.
func (s *segment) find(buf []byte, offset int64, v view) (pos int64, h record.Header, found bool, err error) {
	pos = v.startPos
	for pos < v.size {
		h, err = s.readHeader(buf, pos, v.size)
		if v.entryOff >= 0 && pos == v.startPos && (err != nil || h.BaseOffset != v.entryOff) {
			s.indexBad.Store(true)
			pos, v.startPos, v.entryOff = 0, 0, -1
			continue
		}
		if err != nil {
			return pos, h, false, err
		}
		if h.LastOffset() >= offset {
			return pos, h, true, nil
		}
		pos += int64(h.Size())
	}
	return pos, h, false, nil
}

// extent extends a read that starts with the batch h at pos: it returns the end
// of the last batch that fits in budget bytes and stays below upTo, and the
// offset the next read starts at. more is true when the read reached the end
// of the segment's size bytes and may go on in the next segment.
func (s *segment) extent(buf []byte, pos int64, h record.Header, size, budget, upTo int64, minOne bool) (more bool, endPos, nextOff int64, err error) {
	first := int64(h.Size())
	if first > budget && !minOne {
		return false, pos, h.BaseOffset, nil
	}
	endPos, nextOff = pos+first, h.LastOffset()+1
	limitPos := size
	if budget-first < size-endPos {
		limitPos = endPos + max(budget-first, 0)
	}
	// Skip over whole batches with the index: every batch before an entry's
	// position ends there and has offsets below the entry's. The header read
	// to check the entry is the first one the walk below needs, so it is kept
	// (one pread fewer per read that the index shortens).
	var hn record.Header
	haveNext := false
	if off, at, ok := s.lastEntryBefore(endPos, limitPos, upTo); ok {
		hj, herr := s.readHeader(buf, at, size)
		if herr == nil && hj.BaseOffset == off {
			endPos, nextOff = at, off
			hn, haveNext = hj, true
		} else {
			s.indexBad.Store(true)
		}
	}
	for endPos < size {
		if !haveNext {
			if hn, err = s.readHeader(buf, endPos, size); err != nil {
				return false, endPos, nextOff, err
			}
		}
		haveNext = false
		if hn.LastOffset() >= upTo || endPos+int64(hn.Size()) > limitPos {
			return false, endPos, hn.BaseOffset, nil
		}
		endPos += int64(hn.Size())
		nextOff = hn.LastOffset() + 1
	}
	return true, endPos, nextOff, nil
}

// OffsetForTimestamp returns the offset and timestamp of the first record whose
// timestamp is >= ts (ListOffsets by time), at or after the log start offset:
// the time index finds the first batch whose max timestamp is >= ts, and that
// batch's records are decoded to find the record. ok is false when none is.
func (l *Log) OffsetForTimestamp(ts int64) (offset int64, timestamp int64, ok bool, err error) {
	for range readRetries {
		if l.closed.Load() {
			return 0, 0, false, ErrClosed
		}
		start := l.start.Load()
		buf := make([]byte, record.HeaderSize)
		retry := false
		for _, s := range l.list() {
			if !s.file.acquire() {
				retry = true
				break
			}
			offset, timestamp, ok, err = s.offsetForTimestamp(buf, ts, start)
			s.file.release()
			if ok || err != nil {
				return offset, timestamp, ok, err
			}
		}
		if !retry {
			return 0, 0, false, nil
		}
	}
	return 0, 0, false, fmt.Errorf("offset for timestamp %d: segments kept disappearing: %w", ts, ErrClosed)
}

// offsetForTimestamp searches one segment; see OffsetForTimestamp.
func (s *segment) offsetForTimestamp(buf []byte, ts, start int64) (int64, int64, bool, error) {
	s.mu.RLock()
	maxTs := s.maxTs
	from, checkOff, checkTs := max(start, s.base), int64(-1), int64(0)
	if i := searchTimeIndex(s.tindex, ts); i >= 0 {
		// No batch up to this one has a timestamp >= ts.
		if o := s.base + int64(s.tindex[i].rel); o > from {
			from, checkOff, checkTs = o, o, s.tindex[i].ts
		}
	}
	s.mu.RUnlock()
	if maxTs < ts {
		return 0, 0, false, nil
	}
	v := s.locate(from)
	pos, h, found, err := s.find(buf, from, v)
	if err == nil && found && checkOff >= 0 && (h.BaseOffset != checkOff || h.MaxTimestamp != checkTs) {
		// The time entry is wrong; do without it.
		from = max(start, s.base)
		v = s.locate(from)
		pos, h, found, err = s.find(buf, from, v)
	}
	for err == nil && found {
		if h.MaxTimestamp >= ts {
			off, t, ok, err := s.firstRecordAt(pos, h, ts, start)
			if ok || err != nil {
				return off, t, ok, err
			}
		}
		if pos += int64(h.Size()); pos >= v.size {
			break
		}
		h, err = s.readHeader(buf, pos, v.size)
	}
	if err != nil {
		return 0, 0, false, fmt.Errorf("offset for timestamp %d: %w", ts, err)
	}
	return 0, 0, false, nil
}

// firstRecordAt decodes the batch at pos and returns its first record at or
// after start with a timestamp >= ts.
func (s *segment) firstRecordAt(pos int64, h record.Header, ts, start int64) (int64, int64, bool, error) {
	b := make([]byte, h.Size())
	if _, err := s.file.f.ReadAt(b, pos); err != nil {
		return 0, 0, false, fmt.Errorf("read %s at %d: %w", s.path(logExt), pos, err)
	}
	recs, err := record.Records(b)
	if err != nil {
		return 0, 0, false, s.corrupt(pos, err)
	}
	for _, r := range recs {
		off := h.BaseOffset + int64(r.OffsetDelta)
		t := h.BaseTimestamp + r.TimestampDelta
		if h.LogAppendTime() {
			t = h.MaxTimestamp
		}
		if off >= start && t >= ts {
			return off, t, true, nil
		}
	}
	return 0, 0, false, nil
}

// MaxTimestamp returns the largest timestamp in the log and the offset of the batch
// holding it (ListOffsets -3, KIP-734); ok is false for an empty log.
func (l *Log) MaxTimestamp() (timestamp int64, offset int64, ok bool) {
	timestamp = -1
	for _, s := range l.list() {
		s.mu.RLock()
		if s.size > 0 && s.maxTs > timestamp {
			timestamp, offset, ok = s.maxTs, s.maxOff, true
		}
		s.mu.RUnlock()
	}
	return timestamp, offset, ok
}
