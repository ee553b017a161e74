package txn

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tributary-io/tributary/broker/log"
)

// rebuildChunk is how many bytes the rebuild reads from the log at a time.
const rebuildChunk = 1 << 20

// OpenPartition builds the producer state of the partition whose log is l
// (name is used in errors and logs). It loads the newest usable snapshot —
// one at or below the log end and at or above the log start, that decodes —
// and replays the log from there to its end; with none it replays the whole
// log. Snapshots above the log end (written before a crash cut the log's
// tail) are deleted. Producers idle past ProducerIDExpiration are dropped.
func OpenPartition(l *log.Log, name string, cfg StateConfig) (*PartitionState, error) {
	cfg.EnsureDefaults()
	s := &PartitionState{name: name, log: l, cfg: cfg}
	if err := s.rebuildLocked(); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload rebuilds the state from the snapshots and the log, as OpenPartition
// does: after the log was truncated (a follower diverging from its leader), the
// batches the state learned from may be gone. The caller must hold off appends.
func (s *PartitionState) Reload() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rebuildLocked()
}

// rebuildLocked replaces the state with the one the snapshots and the log hold.
func (s *PartitionState) rebuildLocked() error {
	s.producers, s.aborted, s.maxSpan, s.snapOffset, s.sinceSnapshot = map[int64]*Producer{}, nil, 0, -1, 0
	from, err := s.loadSnapshot()
	if err != nil {
		return err
	}
	if err := s.replay(from); err != nil {
		return err
	}
	now := s.cfg.Now().UnixMilli()
	s.expireLocked(now)
	s.nextExpiry = now + s.cfg.ExpirationCheckInterval.Milliseconds()
	return nil
}

// loadSnapshot installs the newest usable snapshot and returns the offset to
// replay from.
func (s *PartitionState) loadSnapshot() (int64, error) {
	dir := s.log.Dir()
	offs, err := listSnapshots(dir)
	if err != nil {
		return 0, err
	}
	start, end := s.log.StartOffset(), s.log.EndOffset()
	for _, off := range offs {
		path := filepath.Join(dir, snapshotName(off))
		if off > end {
			// Written before a crash cut the log: it describes batches that are gone.
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return 0, fmt.Errorf("remove stale snapshot %s: %w", path, err)
			}
			continue
		}
		if off < start {
			continue // the log no longer holds what follows it; rebuild from the start
		}
		b, err := os.ReadFile(path)
		if err == nil {
			var st snapshotState
			if st, err = decodeSnapshot(b); err == nil && st.offset != off {
				err = fmt.Errorf("%w: holds offset %d", ErrBadSnapshot, st.offset)
			}
			if err == nil {
				s.producers, s.aborted, s.snapOffset = st.producers, st.aborted, off
				for _, a := range s.aborted {
					s.maxSpan = max(s.maxSpan, a.LastOffset-a.FirstOffset)
				}
				return off, nil
			}
		}
		s.cfg.Logger.Warn("ignoring unusable producer snapshot", "partition", s.name, "file", path, "err", err)
	}
	return start, nil
}

// replay applies every batch from offset from to the log end.
func (s *PartitionState) replay(from int64) error {
	var buf []byte
	for off := from; off < s.log.EndOffset(); {
		rr, err := s.log.Read(off, rebuildChunk, s.log.EndOffset(), true)
		if err != nil {
			return fmt.Errorf("rebuild producer state of %s at %d: %w", s.name, off, err)
		}
		buf, err = rr.AppendBytes(buf[:0])
		next := rr.NextOffset
		rr.Release()
		if err != nil {
			return fmt.Errorf("rebuild producer state of %s at %d: %w", s.name, off, err)
		}
		if next <= off || len(buf) == 0 {
			break // nothing more below the end (a gap at the tail)
		}
		if err := s.applyLocked(buf, s.cfg.Now().UnixMilli()); err != nil {
			return fmt.Errorf("rebuild producer state of %s at %d: %w", s.name, off, err)
		}
		off = next
	}
	return nil
}
