package txn

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/tributary-io/tributary/broker/log"
	"github.com/tributary-io/tributary/broker/record"
)

// StateConfig configures the producer state of partitions.
type StateConfig struct {
	// ProducerIDExpiration is producer.id.expiration.ms: a producer with no open
	// transaction that has not written for this long is forgotten. Default 1 day.
	ProducerIDExpiration time.Duration
	// ExpirationCheckInterval is producer.id.expiration.check.interval.ms: how
	// often appends look for expired producers. Default 10 minutes.
	ExpirationCheckInterval time.Duration
	// SnapshotBytes is how many bytes may be appended between two snapshots, so a
	// restart rescans at most this much. Default 16 MiB.
	SnapshotBytes int64
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives load problems. Default slog.Default().
	Logger *slog.Logger
}

// EnsureDefaults fills unset fields.
func (c *StateConfig) EnsureDefaults() {
	if c.ProducerIDExpiration <= 0 {
		c.ProducerIDExpiration = 24 * time.Hour
	}
	if c.ExpirationCheckInterval <= 0 {
		c.ExpirationCheckInterval = 10 * time.Minute
	}
	if c.SnapshotBytes <= 0 {
		c.SnapshotBytes = 16 << 20
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// AbortedTxn is one aborted transaction in a partition: its producer, its first
// offset and the offset of its abort marker. read_committed fetches return those
// overlapping the fetched range so clients drop the aborted records.
type AbortedTxn struct {
	ProducerID  int64
	FirstOffset int64
	LastOffset  int64
}

// PartitionState is the producer state of one partition: each producer's epoch
// and latest batches (idempotence), the open transactions (the last stable
// offset) and the index of aborted transactions (read_committed).
//
// Check and Appended must be called by one appender at a time, around the log
// append, so the state always matches the log (replication.Partition holds its
// append lock across the three). Everything else may be called concurrently.
type PartitionState struct {
	name string
	log  *log.Log
	cfg  StateConfig

	mu        sync.Mutex
	producers map[int64]*Producer
	// aborted is sorted by LastOffset (markers are appended in offset order).
	aborted []AbortedTxn
	// maxSpan is the largest LastOffset-FirstOffset in aborted, so a lookup can
	// stop early: no entry past it can start below the range's end.
	maxSpan int64
	// sinceSnapshot counts bytes appended since the last snapshot.
	sinceSnapshot int64
	// snapOffset is the offset of the newest snapshot on disk, -1 for none: a
	// clean close at that same log end has nothing new to write.
	snapOffset int64
	// nextExpiry is when appends next look for expired producers (Unix ms).
	nextExpiry int64
	closed     bool
}

// Check validates batches before they are appended: epochs, sequences, the
// transactional flag against the producer's open transaction, and no control
// batches from clients (fromClient false: the broker's own coordinators). It
// changes nothing. When the batches repeat a cached batch it returns what the
// original append returned: the caller must not write them again.
func (s *PartitionState) Check(batches []byte, fromClient bool) (*log.AppendInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var work map[int64]*Producer // working copies, so several batches of one producer chain
	for rest := batches; len(rest) > 0; {
		batch, r, h, err := record.Next(rest)
		if err != nil {
			return nil, fmt.Errorf("producer state of %s: %w", s.name, err)
		}
		rest = r
		if h.IsControl() && fromClient {
			return nil, fmt.Errorf("%s: %w: %w", s.name, ErrControlBatchFromClient, record.ErrInvalidRecord)
		}
		if h.ProducerID < 0 {
			if h.IsTransactional() {
				return nil, fmt.Errorf("%s: transactional batch without a producer id: %w", s.name, record.ErrInvalidRecord)
			}
			continue
		}
		b, err := parseBatch(batch, h)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		p, ok := work[h.ProducerID]
		if !ok {
			if cur := s.producers[h.ProducerID]; cur != nil {
				p = cur.clone()
			}
		}
		dup, err := validate(p, b, fromClient)
		if err != nil {
			return nil, fmt.Errorf("append to %s: %w", s.name, err)
		}
		if dup != nil {
			// Kafka answers the whole append with the duplicate; clients send one
			// batch per partition, so there is nothing else in it.
			return &log.AppendInfo{
				BaseOffset:    dup.FirstOffset,
				LastOffset:    dup.LastOffset,
				LogAppendTime: -1,
				MaxTimestamp:  dup.Timestamp,
			}, nil
		}
		if work == nil {
			work = map[int64]*Producer{}
		}
		// Offsets are not assigned yet; a later batch only needs to see that a
		// transaction is open, so the placeholder offsets do no harm.
		work[h.ProducerID] = update(p, b, 0, nil)
	}
	return nil, nil
}

// Appended records batches the log has just written (their offsets assigned) and
// takes a snapshot when SnapshotBytes have been appended since the last one.
func (s *PartitionState) Appended(batches []byte, info log.AppendInfo) {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if err := s.applyLocked(batches, now.UnixMilli()); err != nil {
		// Check parsed these very batches; the log cannot have changed them.
		s.cfg.Logger.Error("producer state: unreadable appended batch", "partition", s.name, "err", err)
	}
	s.sinceSnapshot += info.Bytes
	if nowMs := now.UnixMilli(); nowMs >= s.nextExpiry {
		s.expireLocked(nowMs)
		s.nextExpiry = nowMs + s.cfg.ExpirationCheckInterval.Milliseconds()
	}
	if s.sinceSnapshot >= s.cfg.SnapshotBytes {
		if err := s.snapshotLocked(s.log.EndOffset()); err != nil {
			// A missed snapshot costs a longer rescan on restart, nothing else.
			s.cfg.Logger.Warn("producer snapshot failed", "partition", s.name, "err", err)
		}
	}
}

// applyLocked updates the state with batches that are in the log. ts is the
// LastTimestamp of the producers they touch: the append time, or the time of
// the rebuild (the batch timestamps are the producers' clocks, and expiring a
// live producer on restart because its clock is behind would lose its
// duplicate detection).
func (s *PartitionState) applyLocked(batches []byte, ts int64) error {
	for rest := batches; len(rest) > 0; {
		batch, r, h, err := record.Next(rest)
		if err != nil {
			return err
		}
		rest = r
		if h.ProducerID < 0 {
			continue
		}
		b, err := parseBatch(batch, h)
		if err != nil {
			s.cfg.Logger.Warn("producer state: skipping undecodable control batch", "partition", s.name, "err", err)
			continue
		}
		s.producers[h.ProducerID] = update(s.producers[h.ProducerID], b, ts, s.addAbortedLocked)
	}
	return nil
}

func (s *PartitionState) addAbortedLocked(pid, first, last int64) {
	s.aborted = append(s.aborted, AbortedTxn{ProducerID: pid, FirstOffset: first, LastOffset: last})
	s.maxSpan = max(s.maxSpan, last-first)
}

// expireLocked forgets producers idle past producer.id.expiration.ms that have
// no open transaction, and aborted transactions below the log start.
func (s *PartitionState) expireLocked(nowMs int64) {
	limit := nowMs - s.cfg.ProducerIDExpiration.Milliseconds()
	for id, p := range s.producers {
		if p.TxnFirstOffset < 0 && p.LastTimestamp < limit {
			delete(s.producers, id)
		}
	}
	start := s.log.StartOffset()
	i := sort.Search(len(s.aborted), func(i int) bool { return s.aborted[i].LastOffset >= start })
	if i > 0 {
		s.aborted = slices.Delete(s.aborted, 0, i)
	}
}

// FirstUnstableOffset is the first offset of the oldest open transaction, if
// any: the last stable offset is the smaller of it and the high watermark.
func (s *PartitionState) FirstUnstableOffset() (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	first, ok := int64(0), false
	for _, p := range s.producers {
		if p.TxnFirstOffset >= 0 && (!ok || p.TxnFirstOffset < first) {
			first, ok = p.TxnFirstOffset, true
		}
	}
	return first, ok
}

// AbortedTransactions returns the aborted transactions that overlap [from, upTo):
// those whose marker is at or after from and whose first offset is below upTo,
// ordered by marker offset.
func (s *PartitionState) AbortedTransactions(from, upTo int64) []AbortedTxn {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []AbortedTxn
	i := sort.Search(len(s.aborted), func(i int) bool { return s.aborted[i].LastOffset >= from })
	for ; i < len(s.aborted); i++ {
		a := s.aborted[i]
		if a.LastOffset-s.maxSpan >= upTo {
			break // this and every later one start at or after upTo
		}
		if a.FirstOffset < upTo {
			out = append(out, a)
		}
	}
	return out
}

// Producers returns a copy of every producer's state, sorted by id
// (DescribeProducers).
func (s *PartitionState) Producers() []Producer {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := slices.Sorted(maps.Keys(s.producers))
	out := make([]Producer, 0, len(ids))
	for _, id := range ids {
		out = append(out, *s.producers[id].clone())
	}
	return out
}

// Producer returns one producer's state.
func (s *PartitionState) Producer(id int64) (Producer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.producers[id]
	if !ok {
		return Producer{}, false
	}
	return *p.clone(), true
}

// Close stops the state; with snapshot it first writes a snapshot at the log end,
// so a clean restart rescans nothing. Call it before the log closes, and without
// snapshot when the partition's log is being deleted.
func (s *PartitionState) Close(snapshot bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if !snapshot || s.snapOffset == s.log.EndOffset() {
		return nil
	}
	s.expireLocked(s.cfg.Now().UnixMilli())
	return s.snapshotLocked(s.log.EndOffset())
}
