package replication

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/tributary-io/tributary/broker/cluster"
	"github.com/tributary-io/tributary/broker/log"
	"github.com/tributary-io/tributary/broker/record"
)

// Replication errors; broker/kafka maps them to Kafka codes.
var (
	// ErrNotLeader: this node does not lead the partition (any more)
	// (NOT_LEADER_OR_FOLLOWER).
	ErrNotLeader = errors.New("replication: not the leader")
	// ErrNotEnoughReplicas: acks=all with fewer in-sync replicas than
	// min.insync.replicas; nothing was written (NOT_ENOUGH_REPLICAS).
	ErrNotEnoughReplicas = errors.New("replication: fewer in-sync replicas than min.insync.replicas")
	// ErrNotEnoughReplicasAfterAppend: written, but the ISR shrank below
	// min.insync.replicas before it was replicated (NOT_ENOUGH_REPLICAS_AFTER_APPEND).
	ErrNotEnoughReplicasAfterAppend = errors.New("replication: ISR shrank below min.insync.replicas after the append")
	// ErrReplicationTimeout: acks=all and the ISR did not have the records in
	// the request's timeout (REQUEST_TIMED_OUT).
	ErrReplicationTimeout = errors.New("replication: timed out waiting for the in-sync replicas")
	// ErrNotReplica: a replica fetch from a broker that is not a replica.
	ErrNotReplica = errors.New("replication: fetching broker is not a replica")
	// ErrStaleEpoch: a follower's append or truncation made for a leader epoch
	// that is no longer current (a fetcher about to be replaced).
	ErrStaleEpoch = errors.New("replication: stale leader epoch")
)

// followerState is what a leader knows of one follower.
type followerState struct {
	leo          int64 // log end offset the follower reported by fetching; -1 unknown
	lastCaughtUp time.Time
	// lastFetchLEO and lastFetchTime are the leader's end offset and the time at
	// the follower's previous fetch: reaching lastFetchLEO now means the
	// follower was caught up at lastFetchTime (Kafka's rule).
	lastFetchLEO  int64
	lastFetchTime time.Time
}

// replicaState is the partition's replica set as the metadata describes it and,
// while leading, the followers' progress. Guarded by mu; the high watermark is
// only raised under mu so it never goes back.
type replicaState struct {
	mu        sync.Mutex
	replicas  []int32
	isr       []int32
	leading   bool
	minISR    int
	followers map[int32]*followerState
}

// setMeta applies the partition's metadata: leader, epoch, replicas, ISR. A new
// leadership (or a new epoch of it) starts with every follower unknown and
// records the epoch's start in the leader-epoch history.
func (p *Partition) setMeta(meta cluster.Partition, minISR int, now time.Time) {
	r := &p.repl
	r.mu.Lock()
	newTerm := meta.LeaderEpoch != p.leaderEpoch.Load() || meta.Leader != p.leader.Load() || r.replicas == nil
	p.leaderEpoch.Store(meta.LeaderEpoch)
	p.leader.Store(meta.Leader)
	r.replicas = slices.Clone(meta.Replicas)
	r.isr = slices.Clone(meta.ISR)
	r.minISR = max(minISR, 1)
	r.leading = meta.Leader == p.self
	if r.leading && newTerm {
		r.followers = map[int32]*followerState{}
		if p.epochs != nil {
			_ = p.epochs.assign(meta.LeaderEpoch, p.log.EndOffset())
		}
	}
	for _, id := range r.replicas {
		if id != p.self && r.followers[id] == nil {
			r.followers[id] = &followerState{leo: -1, lastCaughtUp: now, lastFetchLEO: -1}
		}
	}
	for id := range r.followers {
		if !slices.Contains(r.replicas, id) {
			delete(r.followers, id)
		}
	}
	r.mu.Unlock()
	p.maybeAdvanceHW()
	// Wake parked fetches and acks=all producers: they re-check leadership.
	p.notify()
}

// ISR is the in-sync replica set from the latest metadata.
func (p *Partition) ISR() []int32 {
	p.repl.mu.Lock()
	defer p.repl.mu.Unlock()
	return slices.Clone(p.repl.isr)
}

// Replicas is the replica list from the latest metadata.
func (p *Partition) Replicas() []int32 {
	p.repl.mu.Lock()
	defer p.repl.mu.Unlock()
	return slices.Clone(p.repl.replicas)
}

// IsLeader reports whether this node leads the partition.
func (p *Partition) IsLeader() bool {
	p.repl.mu.Lock()
	defer p.repl.mu.Unlock()
	return p.repl.leading
}

// CheckEnoughReplicas fails with ErrNotEnoughReplicas when the ISR is smaller
// than min.insync.replicas (checked before an acks=all append).
func (p *Partition) CheckEnoughReplicas() error {
	p.repl.mu.Lock()
	defer p.repl.mu.Unlock()
	if len(p.repl.isr) < p.repl.minISR {
		return fmt.Errorf("%s: ISR %v, min.insync.replicas %d: %w", p.tp, p.repl.isr, p.repl.minISR, ErrNotEnoughReplicas)
	}
	return nil
}

// maybeAdvanceHW raises the leader's high watermark to the smallest log end
// offset in the ISR; it never lowers it.
func (p *Partition) maybeAdvanceHW() {
	r := &p.repl
	r.mu.Lock()
	if !r.leading {
		r.mu.Unlock()
		return
	}
	cand := p.log.EndOffset()
	for _, id := range r.isr {
		if id == p.self {
			continue
		}
		f := r.followers[id]
		if f == nil || f.leo < 0 {
			cand = -1
			break
		}
		cand = min(cand, f.leo)
	}
	raised := cand > p.hw.Load()
	if raised {
		p.hw.Store(cand)
	}
	r.mu.Unlock()
	if raised {
		p.notify()
	}
}

// ReplicaFetched records that follower replica fetched from offset (so its log
// ends there) and may raise the high watermark. It reports whether the follower
// has caught up enough to join the ISR.
func (p *Partition) ReplicaFetched(replica int32, offset int64, now time.Time) (expand bool, err error) {
	r := &p.repl
	r.mu.Lock()
	if !r.leading {
		r.mu.Unlock()
		return false, fmt.Errorf("%s: %w", p.tp, ErrNotLeader)
	}
	f := r.followers[replica]
	if f == nil {
		r.mu.Unlock()
		return false, fmt.Errorf("%s: broker %d: %w", p.tp, replica, ErrNotReplica)
	}
	leo := p.log.EndOffset()
	switch {
	case offset >= leo:
		f.lastCaughtUp = now
	case f.lastFetchLEO >= 0 && offset >= f.lastFetchLEO && f.lastFetchTime.After(f.lastCaughtUp):
		f.lastCaughtUp = f.lastFetchTime
	}
	f.leo, f.lastFetchLEO, f.lastFetchTime = offset, leo, now
	expand = !slices.Contains(r.isr, replica) && offset >= p.hw.Load() && offset >= p.epochStartLocked()
	r.mu.Unlock()
	p.maybeAdvanceHW()
	return expand, nil
}

// epochStartLocked is where the current leader epoch started in the log.
func (p *Partition) epochStartLocked() int64 {
	if p.epochs == nil {
		return 0
	}
	epoch := p.leaderEpoch.Load()
	_, end := p.epochs.endOffsetFor(epoch-1, p.log.EndOffset())
	return max(end, 0)
}

// isrProposal is the ISR the leader wants now: followers that have not caught
// up within lagMax leave, followers that reached the high watermark join. ok is
// false when it equals the current ISR or this node does not lead.
func (p *Partition) isrProposal(now time.Time, lagMax time.Duration) (isr []int32, epoch int32, ok bool) {
	r := &p.repl
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.leading {
		return nil, 0, false
	}
	hw, start := p.hw.Load(), p.epochStartLocked()
	for _, id := range r.replicas {
		if id == p.self {
			isr = append(isr, id)
			continue
		}
		f := r.followers[id]
		if f == nil {
			continue
		}
		in := slices.Contains(r.isr, id)
		switch {
		case in && now.Sub(f.lastCaughtUp) <= lagMax:
			isr = append(isr, id)
		case !in && f.leo >= hw && f.leo >= start && now.Sub(f.lastCaughtUp) <= lagMax:
			isr = append(isr, id)
		}
	}
	same := len(isr) == len(r.isr)
	for _, id := range isr {
		same = same && slices.Contains(r.isr, id)
	}
	return isr, p.leaderEpoch.Load(), !same
}

// WaitReplicated waits until the high watermark passes offset (the ISR has the
// records), the timeout passes, leadership is lost or stop is closed.
func (p *Partition) WaitReplicated(offset int64, timeout time.Duration, stop <-chan struct{}) error {
	epoch := p.leaderEpoch.Load()
	w := NewWaiter()
	p.Watch(w)
	defer p.Unwatch(w)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		if p.removed.Load() {
			return fmt.Errorf("%s: %w", p.tp, ErrPartitionRemoved)
		}
		p.repl.mu.Lock()
		leading, isrLen, minISR := p.repl.leading, len(p.repl.isr), p.repl.minISR
		p.repl.mu.Unlock()
		if !leading || p.leaderEpoch.Load() != epoch {
			return fmt.Errorf("%s: leadership moved while waiting for replicas: %w", p.tp, ErrNotLeader)
		}
		if p.hw.Load() > offset {
			if isrLen < minISR {
				return fmt.Errorf("%s: %w", p.tp, ErrNotEnoughReplicasAfterAppend)
			}
			return nil
		}
		select {
		case <-w.C():
		case <-timer.C:
			return fmt.Errorf("%s: offset %d: %w", p.tp, offset, ErrReplicationTimeout)
		case <-stop:
			return fmt.Errorf("%s: %w", p.tp, ErrReplicationTimeout)
		}
	}
}

// ReadReplica reads for a follower: up to the log end, not the high watermark.
func (p *Partition) ReadReplica(offset, maxBytes int64) (log.ReadResult, error) {
	if p.removed.Load() {
		return log.ReadResult{}, fmt.Errorf("read %s: %w", p.tp, ErrPartitionRemoved)
	}
	rr, err := p.log.Read(offset, maxBytes, p.log.EndOffset(), true)
	if err != nil {
		return log.ReadResult{}, fmt.Errorf("read %s at %d: %w", p.tp, offset, err)
	}
	return rr, nil
}

// EndOffsetForEpoch answers OffsetForLeaderEpoch from the leader-epoch history:
// the largest epoch at or below epoch and where it ended here.
func (p *Partition) EndOffsetForEpoch(epoch int32) (int32, int64) {
	if p.epochs == nil {
		return -1, -1
	}
	return p.epochs.endOffsetFor(epoch, p.log.EndOffset())
}

// LogEndOffset is the local log's end offset.
func (p *Partition) LogEndOffset() int64 { return p.log.EndOffset() }

// appendFollower appends batches copied from the leader at epoch, unchanged.
func (p *Partition) appendFollower(batches []byte, epoch int32) (log.AppendInfo, error) {
	if p.removed.Load() {
		return log.AppendInfo{}, fmt.Errorf("append to %s: %w", p.tp, ErrPartitionRemoved)
	}
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	if p.leaderEpoch.Load() != epoch || p.repl.isLeading() {
		return log.AppendInfo{}, fmt.Errorf("append to %s: %w", p.tp, ErrStaleEpoch)
	}
	info, err := p.log.AppendAsFollower(batches)
	if err != nil {
		return log.AppendInfo{}, fmt.Errorf("append to %s as follower: %w", p.tp, err)
	}
	if p.ps() != nil {
		p.ps().Appended(batches, info)
	}
	if p.epochs != nil {
		for rest := batches; len(rest) > 0; {
			_, r, h, err := record.Next(rest)
			if err != nil {
				break
			}
			_ = p.epochs.assign(h.PartitionLeaderEpoch, h.BaseOffset)
			rest = r
		}
	}
	return info, nil
}

func (r *replicaState) isLeading() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.leading
}

// setFollowerHW takes the leader's high watermark, bounded by the local log.
func (p *Partition) setFollowerHW(hw int64) {
	hw = min(hw, p.log.EndOffset())
	if old := p.hw.Swap(hw); old != hw {
		p.notify()
	}
}

// truncateTo removes the local records at and after offset (a divergent tail)
// at epoch, and rebuilds the producer state from what remains.
func (p *Partition) truncateTo(offset int64, epoch int32) error {
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	if p.leaderEpoch.Load() != epoch || p.repl.isLeading() {
		return fmt.Errorf("truncate %s: %w", p.tp, ErrStaleEpoch)
	}
	if offset >= p.log.EndOffset() {
		return nil
	}
	if err := p.log.Truncate(offset); err != nil {
		return fmt.Errorf("truncate %s to %d: %w", p.tp, offset, err)
	}
	if p.epochs != nil {
		if err := p.epochs.truncate(offset); err != nil {
			return err
		}
	}
	if p.hw.Load() > offset {
		p.hw.Store(offset)
	}
	if r, ok := p.ps().(interface{ Reload() error }); ok {
		if err := r.Reload(); err != nil {
			return fmt.Errorf("rebuild producer state of %s after truncation: %w", p.tp, err)
		}
	}
	return nil
}
