package replication

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tributary-io/tributary/broker/cluster"
	"github.com/tributary-io/tributary/broker/log"
)

// ErrPartitionRemoved is returned by operations on a Partition whose topic was
// deleted (or whose log was replaced) after the caller looked it up. It wraps
// cluster.ErrUnknownTopic, so it maps to UNKNOWN_TOPIC_OR_PARTITION.
var ErrPartitionRemoved = fmt.Errorf("replication: partition removed: %w", cluster.ErrUnknownTopic)

// Waiter is signalled when any partition it watches changes (an append, a
// removal). One Waiter can watch many partitions; its channel has room for one
// signal, so signals coalesce and a send never blocks an appender.
type Waiter struct {
	c chan struct{}
}

// NewWaiter returns a Waiter with no pending signal.
func NewWaiter() *Waiter { return &Waiter{c: make(chan struct{}, 1)} }

// C is the channel that receives a value after a watched partition changed.
func (w *Waiter) C() <-chan struct{} { return w.c }

func (w *Waiter) signal() {
	select {
	case w.c <- struct{}{}:
	default: // a signal is already pending; the waiter will re-read everything
	}
}

// Partition is one local replica: its log, its high watermark and the waiters of
// fetches watching it. Safe for concurrent use.
type Partition struct {
	tp      log.TopicPartition
	topicID cluster.UUID
	log     *log.Log

	// appendMu serialises appends with their high-watermark updates, so the high
	// watermark moves forward in log order.
	appendMu sync.Mutex
	// hw is the high watermark: the offset below which records are committed and
	// visible to consumers. Single node: the log end offset after each append.
	hw atomic.Int64
	// leaderEpoch is stamped into every appended batch.
	leaderEpoch atomic.Int32
	// leader is the current leader's node id, from metadata.
	leader  atomic.Int32
	removed atomic.Bool
	// prod holds the producer state (idempotence, transactions); nil inside when
	// the Manager has none configured. Check/append/Appended run under appendMu;
	// a follower's truncation replaces it (rebuilt from the log).
	prod atomic.Pointer[prodBox]

	waitMu  sync.Mutex
	waiters map[*Waiter]struct{}

	// self is this node; epochs the leader-epoch history; repl the replica
	// set as a leader sees it (replica.go).
	self   int32
	epochs *epochCache
	repl   replicaState
}

func newPartition(tp log.TopicPartition, id cluster.UUID, l *log.Log, meta cluster.Partition, producers ProducerState, self int32, epochs *epochCache, now time.Time) *Partition {
	p := &Partition{tp: tp, topicID: id, log: l, waiters: make(map[*Waiter]struct{}), self: self, epochs: epochs}
	p.prod.Store(&prodBox{ps: producers})
	p.hw.Store(l.EndOffset())
	p.repl.followers = map[int32]*followerState{}
	p.repl.minISR = 1
	p.setMeta(meta, 1, now)
	return p
}

// TopicPartition names the partition.
func (p *Partition) TopicPartition() log.TopicPartition { return p.tp }

// TopicID is the id of the partition's topic.
func (p *Partition) TopicID() cluster.UUID { return p.topicID }

// Log is the partition's log, for operations the replica layer does not wrap
// (DeleteRecords, DescribeLogDirs, ListOffsets by time).
func (p *Partition) Log() *log.Log { return p.log }

// LeaderEpoch is the leader epoch from the latest metadata.
func (p *Partition) LeaderEpoch() int32 { return p.leaderEpoch.Load() }

// Leader is the leader's node id from the latest metadata.
func (p *Partition) Leader() int32 { return p.leader.Load() }

// HighWatermark is the offset below which records are visible to consumers. It
// is bounded by the log end offset, which a truncation may have lowered.
func (p *Partition) HighWatermark() int64 {
	return min(p.hw.Load(), p.log.EndOffset())
}

// LastStableOffset is the offset below which no transaction is undecided: the
// first offset of the oldest open transaction, or the high watermark when that
// is lower or no transaction is open.
func (p *Partition) LastStableOffset() int64 {
	hw := p.HighWatermark()
	if p.ps() != nil {
		if first, ok := p.ps().FirstUnstableOffset(); ok {
			return min(first, hw)
		}
	}
	return hw
}

// StartOffset is the log start offset.
func (p *Partition) StartOffset() int64 { return p.log.StartOffset() }

// Append writes a client's batches (modified in place, see log.Log.Append)
// stamped with the current leader epoch, advances the high watermark and wakes
// the waiters. With producer state, the batches are checked first (epochs,
// sequences): a retried batch is answered with its original offsets and not
// written again.
func (p *Partition) Append(batches []byte) (log.AppendInfo, error) {
	return p.append(batches, true)
}

func (p *Partition) append(batches []byte, fromClient bool) (log.AppendInfo, error) {
	if p.removed.Load() {
		return log.AppendInfo{}, fmt.Errorf("append to %s: %w", p.tp, ErrPartitionRemoved)
	}
	p.appendMu.Lock()
	if p.ps() != nil {
		dup, err := p.ps().Check(batches, fromClient)
		if err != nil || dup != nil {
			p.appendMu.Unlock()
			if err != nil {
				return log.AppendInfo{}, fmt.Errorf("append to %s: %w", p.tp, err)
			}
			return *dup, nil
		}
	}
	epoch := p.leaderEpoch.Load()
	info, err := p.log.Append(batches, epoch)
	if err == nil {
		if p.ps() != nil {
			p.ps().Appended(batches, info)
		}
		if p.epochs != nil {
			// The records are written; a failed checkpoint write keeps the entry
			// in memory and is retried with the next epoch change.
			_ = p.epochs.assign(epoch, info.BaseOffset)
		}
	}
	p.appendMu.Unlock()
	if err == nil {
		// The high watermark moves when the ISR has the records: at once when the
		// leader is the only in-sync replica (a single node), else as followers fetch.
		p.maybeAdvanceHW()
	}
	if err != nil {
		if errors.Is(err, log.ErrClosed) && p.removed.Load() {
			return log.AppendInfo{}, fmt.Errorf("append to %s: %w", p.tp, ErrPartitionRemoved)
		}
		return log.AppendInfo{}, fmt.Errorf("append to %s: %w", p.tp, err)
	}
	p.notify()
	return info, nil
}

// Read returns whole batches from offset, at most maxBytes (but the first batch
// anyway when minOne), never a batch reaching upTo or the high watermark, whichever
// is lower (callers pass the high watermark or last stable offset they report).
// Release the result.
func (p *Partition) Read(offset, maxBytes, upTo int64, minOne bool) (log.ReadResult, error) {
	if p.removed.Load() {
		return log.ReadResult{}, fmt.Errorf("read %s: %w", p.tp, ErrPartitionRemoved)
	}
	rr, err := p.log.Read(offset, maxBytes, min(upTo, p.HighWatermark()), minOne)
	if err != nil {
		if errors.Is(err, log.ErrClosed) && p.removed.Load() {
			return log.ReadResult{}, fmt.Errorf("read %s: %w", p.tp, ErrPartitionRemoved)
		}
		return log.ReadResult{}, fmt.Errorf("read %s at %d: %w", p.tp, offset, err)
	}
	return rr, nil
}

// Watch registers w to be signalled on every change of the partition until Unwatch.
func (p *Partition) Watch(w *Waiter) {
	p.waitMu.Lock()
	p.waiters[w] = struct{}{}
	p.waitMu.Unlock()
	if p.removed.Load() {
		// Removed before the registration: make sure the watcher looks again.
		w.signal()
	}
}

// Unwatch removes w.
func (p *Partition) Unwatch(w *Waiter) {
	p.waitMu.Lock()
	delete(p.waiters, w)
	p.waitMu.Unlock()
}

// NumWaiters is how many waiters watch the partition (parked fetches), for
// metrics and tests.
func (p *Partition) NumWaiters() int {
	p.waitMu.Lock()
	defer p.waitMu.Unlock()
	return len(p.waiters)
}

// notify signals every waiter.
func (p *Partition) notify() {
	p.waitMu.Lock()
	for w := range p.waiters {
		w.signal()
	}
	p.waitMu.Unlock()
}

// markRemoved makes later reads and appends fail with ErrPartitionRemoved and
// wakes the waiters so their fetches notice.
func (p *Partition) markRemoved() {
	p.removed.Store(true)
	p.notify()
}
