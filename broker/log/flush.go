package log

import (
	"errors"
	"fmt"
	"math"
)

// Sync fsyncs every segment holding unflushed data (the active one and any
// rolled since the last flush), their indexes and the folder. It runs beside
// appends: only the bookkeeping takes the log's lock, not the fsyncs.
func (l *Log) Sync() error { return l.flush(true, true) }

// flushJob is one segment to fsync up to a size captured under mu.
type flushJob struct {
	s          *segment
	size, next int64
}

// flush fsyncs unflushed segments outside mu: the active one too when active
// is true, else only rolled ones. indexes also fsyncs the index files.
func (l *Log) flush(active, indexes bool) error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	if err := l.checkOpen(); err != nil {
		l.mu.Unlock()
		return err
	}
	gen := l.gen.Load()
	segs := l.list()
	var jobs []flushJob
	var errs []error
	for i, s := range segs {
		if i == len(segs)-1 && !active {
			break
		}
		if s.flushedSize == s.size && !(indexes && (s.idxUnsynced || s.indexesPending())) {
			continue
		}
		if err := s.writeIndexesLocked(); err != nil {
			errs = append(errs, err)
			continue
		}
		s.file.acquire() // held by the list, so this cannot fail
		jobs = append(jobs, flushJob{s: s, size: s.size, next: s.next})
	}
	dirDirty := l.dirDirty
	l.dirDirty = false
	if active {
		l.unflushedMsg = 0
	}
	l.mu.Unlock()

	synced := make([]bool, len(jobs))
	for i, j := range jobs {
		err := j.s.file.f.Sync()
		if err == nil && indexes {
			err = j.s.syncIndexes()
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("fsync %s: %w", j.s.path(logExt), err))
		}
		synced[i] = err == nil
		j.s.file.release()
	}
	if dirDirty {
		if err := syncPath(l.dir); err != nil {
			errs = append(errs, err)
		}
	}

	l.mu.Lock()
	if dirDirty && len(errs) > 0 {
		l.dirDirty = true
	}
	// After a truncation or replacement the captured sizes may no longer
	// describe the segments; the next flush will get it right.
	if l.gen.Load() == gen {
		for i, j := range jobs {
			if synced[i] && j.size > j.s.flushedSize {
				j.s.flushedSize, j.s.flushedNext = j.size, j.next
				if indexes {
					j.s.idxUnsynced = false
				}
			}
		}
	}
	l.lastFlush = l.now()
	l.mu.Unlock()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("flush %s: %w", l.dir, err)
	}
	return nil
}

// flushLocked fsyncs every unflushed segment while holding mu, for
// flush.messages (which must be durable before Append returns) and Close.
// REQUIRES: mu.
func (l *Log) flushLocked(indexes bool) error {
	var errs []error
	for _, s := range l.list() {
		if s.flushedSize == s.size && !(indexes && (s.idxUnsynced || s.indexesPending())) {
			continue
		}
		if indexes {
			if err := s.writeIndexesLocked(); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		err := s.file.f.Sync()
		if err == nil && indexes {
			err = s.syncIndexes()
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("fsync %s: %w", s.path(logExt), err))
			continue
		}
		s.flushedSize, s.flushedNext = s.size, s.next
		if indexes {
			s.idxUnsynced = false
		}
	}
	if l.dirDirty {
		if err := syncPath(l.dir); err != nil {
			errs = append(errs, err)
		} else {
			l.dirDirty = false
		}
	}
	l.unflushedMsg = 0
	l.lastFlush = l.now()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("flush %s: %w", l.dir, err)
	}
	return nil
}

// maintain is one background pass over the log, run by the Manager: flush.ms,
// fsync of rolled segments, the checkpoint, index repair, retention when
// cleanup.policy has delete, and compaction when it has compact and enough of
// the log is dirty (or a kept tombstone has expired).
func (l *Log) maintain() error {
	cfg := l.cfg.Load()
	now := l.now()
	l.mu.Lock()
	if err := l.checkOpen(); err != nil {
		l.mu.Unlock()
		return err
	}
	segs := l.list()
	dueByTime := cfg.FlushMs != math.MaxInt64 && now.Sub(l.lastFlush).Milliseconds() >= cfg.FlushMs
	activeDirty := l.active().flushedSize < l.active().size
	rolledDirty := false
	for _, s := range segs[:len(segs)-1] {
		rolledDirty = rolledDirty || s.flushedSize < s.size
	}
	l.mu.Unlock()
	var errs []error
	if err := l.repairIndexes(); err != nil {
		errs = append(errs, err)
	}

	if (dueByTime && activeDirty) || rolledDirty {
		if err := l.flush(dueByTime && activeDirty, true); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := l.ApplyRetention(); err != nil {
		errs = append(errs, err)
	}
	if cfg.Compact() && l.compactionDue(cfg, now.UnixMilli()) {
		if _, err := l.Compact(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := l.saveCheckpoint(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// repairIndexes rebuilds the indexes that readers found wrong.
func (l *Log) repairIndexes() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.checkOpen(); err != nil {
		return err
	}
	var errs []error
	for _, s := range l.list() {
		if s.indexBad.Load() {
			if err := l.rebuildIndexLocked(s); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
