package log

import "fmt"

// ApplyRetention deletes whole non-active segments past retention.ms / retention.bytes.
//
// Segments go oldest first, and the pass stops at the first one that must stay:
// a segment goes when everything in it is below the log start offset, when it is
// empty, when its largest timestamp is more than retention.ms old, or while the
// log without it is still at least retention.bytes. The last two apply only when
// cleanup.policy includes delete. The active segment always stays. The log start
// offset moves up to the first remaining segment.
func (l *Log) ApplyRetention() (CleanStats, error) {
	l.cleanMu.Lock()
	defer l.cleanMu.Unlock()
	cfg := l.cfg.Load()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.checkOpen(); err != nil {
		return CleanStats{}, err
	}
	nowMs := l.now().UnixMilli()
	segs := l.list()
	start := l.start.Load()
	var st CleanStats
	for _, s := range segs {
		st.BytesBefore += s.size
	}
	total := st.BytesBefore
	n := 0
	for ; n < len(segs)-1; n++ {
		s := segs[n]
		gone := segs[n+1].base <= start || s.size == 0
		if cfg.Delete() {
			gone = gone ||
				(cfg.RetentionMs >= 0 && nowMs-segmentTime(s) > cfg.RetentionMs) ||
				(cfg.RetentionBytes >= 0 && total-s.size >= cfg.RetentionBytes)
		}
		if !gone {
			break
		}
		total -= s.size
	}
	st.BytesAfter = total
	if n == 0 {
		return st, nil
	}
	st.SegmentsDeleted = n
	l.start.Store(max(start, segs[n].base))
	l.publish(segs[n:])
	l.gen.Add(1)
	if err := l.deleteSegmentsLocked(segs[:n]); err != nil {
		return st, fmt.Errorf("retention in %s: %w", l.dir, err)
	}
	return st, nil
}
