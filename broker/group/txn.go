package group

import (
	"errors"
	"fmt"
	"time"

	"github.com/tributary-io/tributary/broker/record"
)

// Transactional offset commits (TxnOffsetCommit, KIP-98 and KIP-447). The
// offsets are written to __consumer_offsets at once, in a transactional batch of
// the producer, but they take effect only when the transaction coordinator writes
// the commit marker to the same partition (CompleteTxn); an abort marker drops
// them. Until then they are pending: OffsetFetch with require_stable answers
// UNSTABLE_OFFSET_COMMIT for their partitions, so a new owner of a partition does
// not start from an offset the transaction is about to replace.

// pendingOffset is one offset of an open transaction.
type pendingOffset struct {
	group  string
	tp     TopicPartition
	offset Offset
}

// TxnCommitRequest is a TxnOffsetCommit for one group.
type TxnCommitRequest struct {
	ProducerID    int64
	ProducerEpoch int16
	// MemberID, InstanceID and Generation tie the commit to the consumer group's
	// generation (KIP-447, TxnOffsetCommit v3+); "" and -1 when not given.
	MemberID   string
	InstanceID string
	Generation int32
	Offsets    []OffsetCommit
}

// TxnCommitOffsets handles TxnOffsetCommit: one error per offset, in order. The
// group is created if it does not exist, as Kafka does. A member id or a
// generation, when given, must be the group's current ones (a zombie of an older
// generation is refused with UNKNOWN_MEMBER_ID or ILLEGAL_GENERATION). A producer
// fenced on __consumer_offsets (an older epoch) gets the producer state's error.
func (c *Coordinator) TxnCommitOffsets(group string, req TxnCommitRequest) []error {
	errs := make([]error, len(req.Offsets))
	failAll := func(err error) []error {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	if group == "" {
		return failAll(ErrInvalidGroupID)
	}
	s, err := c.lock(group)
	if err != nil {
		return failAll(err)
	}
	defer s.mu.Unlock()
	now := c.cfg.Now()
	g := s.groups[group]
	if g == nil {
		g = NewGroup(group, &c.set, now)
		s.groups[group] = g
		defer s.dropIfUnused(g)
	}
	if err := g.validateTxnCommit(req.MemberID, req.InstanceID, req.Generation); err != nil {
		return failAll(err)
	}
	var recs []kv
	var pend []pendingOffset
	var ok []int
	for i, oc := range req.Offsets {
		if len(oc.Metadata) > c.cfg.MaxMetadataSize {
			errs[i] = ErrOffsetMetadataTooLarge
			continue
		}
		o := c.offsetOf(oc, 0, now)
		ok = append(ok, i)
		recs = append(recs, offsetRecord(group, oc.TopicPartition, o))
		pend = append(pend, pendingOffset{group: group, tp: oc.TopicPartition, offset: o})
	}
	if len(recs) == 0 {
		return errs
	}
	b, err := buildTxnBatch(now, req.ProducerID, req.ProducerEpoch, recs)
	if err == nil {
		err = c.log.Append(s.partition, b)
	}
	if err != nil {
		c.cfg.Logger.Warn("store transactional offsets failed", "group", group, "producer_id", req.ProducerID, "err", err)
		// Both stay visible to errors.Is: a fencing error of the producer state
		// is what the client must see, anything else is a retriable store error.
		if !errors.Is(err, ErrNotCoordinator) {
			err = fmt.Errorf("%w: %w", ErrCoordinatorNotAvailable, err)
		}
		for _, i := range ok {
			errs[i] = err
		}
		return errs
	}
	s.pending[req.ProducerID] = append(s.pending[req.ProducerID], pend...)
	return errs
}

// validateTxnCommit is Kafka's check of a transactional commit: no rebalance
// check (the transaction decides), but a given member and generation must be current.
func (g *Group) validateTxnCommit(memberID, instanceID string, generation int32) error {
	if g.state == Dead {
		return ErrCoordinatorNotAvailable
	}
	if instanceID != "" {
		if cur, ok := g.static[instanceID]; ok && cur != memberID {
			return ErrFencedInstanceID
		}
	}
	if memberID != "" {
		if _, ok := g.members[memberID]; !ok {
			return ErrUnknownMemberID
		}
	}
	if generation >= 0 && generation != g.generation {
		return ErrIllegalGeneration
	}
	return nil
}

// CompleteTxn writes marker (a commit or abort control batch of producerID,
// built by the transaction coordinator) to partition of __consumer_offsets, then
// applies (commit) or drops (abort) the producer's pending offsets there. A
// marker for a producer with nothing pending is written all the same: it ends
// the transaction in the partition's producer state.
func (c *Coordinator) CompleteTxn(partition int32, producerID int64, commit bool, marker []byte) error {
	if partition < 0 || int(partition) >= len(c.shards) {
		return fmt.Errorf("%s-%d does not exist: %w", OffsetsTopic, partition, ErrNotCoordinator)
	}
	s := c.shards[partition]
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.loaded {
		c.mu.Lock()
		stopped := c.stopped
		c.mu.Unlock()
		if stopped {
			return ErrNotCoordinator
		}
		return ErrLoadInProgress
	}
	if err := c.log.Append(partition, marker); err != nil {
		return fmt.Errorf("write transaction marker to %s-%d: %w", OffsetsTopic, partition, err)
	}
	pend := s.pending[producerID]
	delete(s.pending, producerID)
	if !commit {
		return nil
	}
	now := c.cfg.Now()
	for _, po := range pend {
		g := s.groups[po.group]
		if g == nil {
			g = NewGroup(po.group, &c.set, now)
			s.groups[po.group] = g
		}
		g.SetOffset(po.tp, po.offset)
	}
	return nil
}

// hasPending reports whether an open transaction holds an offset of group/tp.
// REQUIRES: s.mu.
func (s *shard) hasPending(group string, tp TopicPartition) bool {
	for _, ps := range s.pending {
		for _, po := range ps {
			if po.group == group && po.tp == tp {
				return true
			}
		}
	}
	return false
}

// pendingFromLoad turns the transactional offsets the loader still holds (no
// marker yet) into pending offsets: the coordinator finishes those transactions
// after a restart and writes their markers then.
func (l *loader) pendingFromLoad() map[int64][]pendingOffset {
	out := map[int64][]pendingOffset{}
	for pid, es := range l.txn {
		for _, e := range es {
			if !e.isOffset || e.offset == nil {
				continue
			}
			out[pid] = append(out[pid], pendingOffset{group: e.group, tp: e.tp, offset: *e.offset})
		}
	}
	return out
}

// buildTxnBatch encodes records into one transactional RecordBatch v2 of the
// producer. It carries no sequence: the broker writes it, not the client.
func buildTxnBatch(now time.Time, pid int64, epoch int16, recs []kv) ([]byte, error) {
	rs := make([]record.Record, len(recs))
	for i, r := range recs {
		rs[i] = record.Record{OffsetDelta: int32(i), Key: r.Key, Value: r.Value}
	}
	b, err := record.Build(record.BatchSpec{
		Attributes:    record.AttrTransactional,
		BaseTimestamp: now.UnixMilli(),
		ProducerID:    pid,
		ProducerEpoch: epoch,
		BaseSequence:  -1,
	}, rs)
	if err != nil {
		return nil, fmt.Errorf("build transactional %s batch of %d records: %w", OffsetsTopic, len(recs), err)
	}
	return b, nil
}
