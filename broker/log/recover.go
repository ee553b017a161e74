package log

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/tributary-io/tributary/broker/record"
)

// recover loads the folder's segments (see "Recovery on Open" in format.go).
func (l *Log) recover() error {
	if err := completeSwaps(l.dir, l.logger); err != nil {
		return err
	}
	bases, err := l.tidyFolder()
	if err != nil {
		return err
	}
	cp, ok, err := readCheckpoint(l.dir)
	if err != nil {
		// A damaged checkpoint costs a full scan and DeleteRecords' start offset,
		// never data: recover as after a crash with no checkpoint.
		l.logger.Warn("ignoring damaged checkpoint; scanning every segment", "err", err)
		cp, ok = checkpoint{}, false
	}
	if !ok {
		cp = checkpoint{}
	}
	l.onDisk = cp
	var segs []*segment
	fail := func(err error) error {
		for _, s := range segs {
			s.file.release()
		}
		return err
	}
	for i, base := range bases {
		limit := int64(-1)
		if i+1 < len(bases) {
			limit = bases[i+1]
		}
		var sum *[2]uint32
		if cp.indexes != nil {
			if v, ok := (*cp.indexes)[base]; ok {
				sum = &v
			}
		}
		s, err := l.loadSegment(base, limit, cp.recovery, sum)
		if err != nil {
			return fail(err)
		}
		segs = append(segs, s)
	}
	if len(segs) == 0 {
		s, err := newSegment(l.dir, cp.start)
		if err != nil {
			return err
		}
		segs = append(segs, s)
		l.dirDirty = true
	}
	last := segs[len(segs)-1]
	l.publish(segs)
	l.end.Store(last.next)
	l.start.Store(min(max(cp.start, segs[0].base), last.next))
	l.cleanedTo = min(cp.cleaned, last.next)
	if last.size > 0 {
		buf := make([]byte, record.HeaderSize)
		if h, err := last.readHeader(buf, 0, last.size); err == nil && h.MaxTimestamp >= 0 {
			last.rollBase = h.MaxTimestamp
		} else {
			last.rollBase = l.now().UnixMilli()
		}
	}
	return nil
}

// tidyFolder removes leftovers of interrupted work and returns the base offsets
// of the segments, sorted.
func (l *Log) tidyFolder() ([]int64, error) {
	ents, err := os.ReadDir(l.dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", l.dir, err)
	}
	var bases []int64
	orphans := map[int64][]string{}
	for _, e := range ents {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, cleanedExt) || strings.HasSuffix(name, tmpExt):
			// An uncommitted compaction pass or checkpoint write.
			if err := os.Remove(l.path(name)); err != nil {
				return nil, fmt.Errorf("remove leftover %s: %w", name, err)
			}
		default:
			if base, ok := parseSegmentName(name, logExt); ok {
				bases = append(bases, base)
				continue
			}
			for _, ext := range []string{indexExt, timeIndexExt} {
				if base, ok := parseSegmentName(name, ext); ok {
					orphans[base] = append(orphans[base], name)
				}
			}
		}
	}
	slices.Sort(bases)
	for base, names := range orphans {
		if _, found := slices.BinarySearch(bases, base); found {
			continue
		}
		for _, name := range names {
			if err := os.Remove(l.path(name)); err != nil {
				return nil, fmt.Errorf("remove index without segment %s: %w", name, err)
			}
		}
	}
	return bases, nil
}

func (l *Log) path(name string) string { return l.dir + string(os.PathSeparator) + name }

// loadSegment opens one segment, checks it from the last index entry at or below
// the recovery point to its end, and rebuilds its indexes when they are missing
// or wrong. limit is the next segment's base, or -1 for the last segment, whose
// damaged tail is truncated; damage anywhere else is ErrCorruptSegment.
// sum, when not nil, is what a clean Close recorded for the segment's indexes.
func (l *Log) loadSegment(base, limit, recovery int64, sum *[2]uint32) (*segment, error) {
	path := segmentPath(l.dir, base, logExt)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open segment: %w", err)
	}
	size, err := fileSize(f)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	s := newSegmentFrom(l.dir, base, f)
	if err := l.checkSegment(s, size, limit, recovery, sum); err != nil {
		s.file.release()
		return nil, err
	}
	return s, nil
}

// checkSegment fills s from its files; see loadSegment.
func (l *Log) checkSegment(s *segment, size, limit, recovery int64, sum *[2]uint32) error {
	interval := l.cfg.Load().IndexIntervalBytes
	maxRel := uint64(maxRelOffset)
	if limit >= 0 {
		maxRel = min(maxRel, relOffset(s.base, limit-1))
	}
	idx, ierr := loadIndex(s.path(indexExt), size, maxRel)
	tidx, terr := loadTimeIndex(s.path(timeIndexExt), maxRel)
	rebuild := size > 0 && (ierr != nil || terr != nil)
	if rebuild {
		l.logger.Warn("rebuilding segment indexes", "segment", s.path(logExt), "err", errors.Join(ierr, terr))
	} else if size > 0 && sum != nil {
		got := sumsOf(&segment{index: idx, tindex: tidx})
		if got != *sum {
			rebuild = true
			l.logger.Warn("rebuilding segment indexes", "segment", s.path(logExt),
				"err", "index files differ from what the last clean shutdown wrote")
		}
	}
	if size == 0 {
		idx, tidx = nil, nil
	}
	for attempt := 0; ; attempt++ {
		from, fromOff := int64(0), s.base
		s.index, s.tindex, s.maxTs, s.maxOff, s.sinceIndex, s.next = nil, nil, -1, s.base, 0, s.base
		if !rebuild {
			if i := searchIndex(idx, relOffset(s.base, recovery)); i >= 0 {
				from, fromOff = int64(idx[i].pos), s.base+int64(idx[i].rel)
				s.index = idx[:i:i]
				s.sinceIndex = interval // re-adds the entry at from
				// Time entries for batches before from describe data the scan
				// does not reread; later ones are recomputed.
				keep := 0
				for keep < len(tidx) && s.base+int64(tidx[keep].rel) <= fromOff {
					keep++
				}
				s.tindex = tidx[:keep:keep]
				if keep > 0 {
					s.maxTs, s.maxOff = tidx[keep-1].ts, s.base+int64(tidx[keep-1].rel)
				}
				s.next = fromOff
			}
		}
		end, damage, err := scanInto(s, from, fromOff, size, limit, interval)
		if err != nil {
			return err
		}
		l.scannedOnOpen += end - from
		if errors.Is(damage, errIndexMismatch) || (damage == nil && !rebuild && !l.timeIndexHolds(s)) {
			if attempt > 0 {
				return fmt.Errorf("%s: index check failed after a rebuild", s.path(logExt))
			}
			l.logger.Warn("rebuilding segment indexes", "segment", s.path(logExt), "err", "entries disagree with the log")
			rebuild = true
			continue
		}
		if damage != nil {
			if limit >= 0 {
				return damage
			}
			l.logger.Warn("truncating damaged tail of the last segment",
				"segment", s.path(logExt), "position", end, "bytes_dropped", size-end, "err", damage)
			if err := s.file.f.Truncate(end); err != nil {
				return fmt.Errorf("truncate %s to %d: %w", s.path(logExt), end, err)
			}
		}
		s.size = end
		if s.next <= recovery {
			s.flushedSize, s.flushedNext = s.size, s.next
		} else {
			s.flushedSize, s.flushedNext = from, fromOff
		}
		if limit >= 0 {
			s.addTimeEntryLocked() // an older segment is sealed
		}
		changed := rebuild || damage != nil || len(s.index) != len(idx) || len(s.tindex) != len(tidx)
		if changed {
			s.idxOnDisk, s.tidxOnDisk, s.idxCut = 0, 0, true
			if !rebuild {
				// The kept prefixes are what the files already hold.
				s.idxOnDisk = commonIndexPrefix(idx, s.index)
				s.tidxOnDisk = commonTimePrefix(tidx, s.tindex)
			}
			if err := s.writeIndexesLocked(); err != nil {
				return err
			}
		} else {
			s.idxOnDisk, s.tidxOnDisk = len(s.index), len(s.tindex)
		}
		return nil
	}
}

// timeIndexHolds checks the last time entry against the batch it names, since
// retention trusts it: a wrong timestamp there could delete a segment early.
func (l *Log) timeIndexHolds(s *segment) bool {
	if len(s.tindex) == 0 {
		return true
	}
	last := s.tindex[len(s.tindex)-1]
	buf := make([]byte, record.HeaderSize)
	_, h, found, err := s.find(buf, s.base+int64(last.rel), s.locate(s.base+int64(last.rel)))
	return err == nil && found && h.BaseOffset == s.base+int64(last.rel) && h.MaxTimestamp == last.ts
}

func commonIndexPrefix(a, b []indexEntry) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

func commonTimePrefix(a, b []timeEntry) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

func loadIndex(path string, logSize int64, maxRel uint64) ([]indexEntry, error) {
	b, err := readIndexFile(path)
	if err != nil {
		return nil, err
	}
	es, err := parseIndex(b, logSize, maxRel)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return es, nil
}

func loadTimeIndex(path string, maxRel uint64) ([]timeEntry, error) {
	b, err := readIndexFile(path)
	if err != nil {
		return nil, err
	}
	es, err := parseTimeIndex(b, maxRel)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return es, nil
}

// errIndexMismatch: the batch at an index entry's position has another offset.
var errIndexMismatch = errors.New("index entry disagrees with the log")

// scanInto reads every batch of s's file from position from (where a batch
// based at fromOff must start, when from > 0) to size, checking each CRC and
// the offset order, and adds them to s's indexes. It returns the end of the last
// good batch and, when it stopped early, the damage found there (wrapped in
// ErrCorruptSegment with the file and position). err is a failed read.
// limit, when not -1, is the next segment's base: offsets must stay below it.
func scanInto(s *segment, from, fromOff, size, limit, interval int64) (end int64, damage, err error) {
	sc := newBatchScanner(s.file.f, from, size)
	prevNext := s.base
	if from > 0 {
		prevNext = fromOff
	}
	for {
		batch, h, pos, err := sc.next()
		if errors.Is(err, io.EOF) {
			return pos, nil, nil
		}
		if err == nil {
			_, err = record.Validate(batch)
		}
		if err == nil {
			err = checkOrder(s, h, pos, from, fromOff, prevNext, limit)
		}
		if err != nil {
			if !isDamage(err) && !errors.Is(err, errIndexMismatch) {
				return pos, nil, fmt.Errorf("scan %s at %d: %w", s.path(logExt), pos, err)
			}
			if pos == from && from > 0 && !errors.Is(err, errIndexMismatch) {
				// The scan started at an index entry: suspect the entry before
				// the data. A rescan from the start judges the data.
				err = fmt.Errorf("no valid batch at index position %d (%w): %w", pos, err, errIndexMismatch)
			}
			return pos, s.corrupt(pos, err), nil
		}
		s.addBatchLocked(pos, h, interval)
		prevNext = h.LastOffset() + 1
	}
}

// checkOrder checks a scanned batch's offsets against what must come before and
// after it.
func checkOrder(s *segment, h record.Header, pos, from, fromOff, prevNext, limit int64) error {
	switch {
	case pos == from && from > 0 && h.BaseOffset != fromOff:
		return fmt.Errorf("batch at %d has offset %d, index says %d: %w", pos, h.BaseOffset, fromOff, errIndexMismatch)
	case h.BaseOffset < prevNext:
		return fmt.Errorf("batch offset %d below %d: %w", h.BaseOffset, prevNext, errOffsetOrder)
	case h.BaseOffset-s.base > maxRelOffset:
		return fmt.Errorf("batch offset %d too far from base %d: %w", h.BaseOffset, s.base, errOffsetOrder)
	case limit >= 0 && h.LastOffset() >= limit:
		return fmt.Errorf("batch last offset %d reaches the next segment's base %d: %w", h.LastOffset(), limit, errOffsetOrder)
	}
	return nil
}
