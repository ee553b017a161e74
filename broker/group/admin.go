package group

import (
	"slices"
	"strings"
	"time"
)

// OffsetCommit is one partition of an OffsetCommit request.
type OffsetCommit struct {
	TopicPartition
	Offset      int64
	LeaderEpoch int32 // -1 when unknown
	Metadata    string
}

// CommitRequest is an OffsetCommit request for one group.
type CommitRequest struct {
	MemberID   string
	InstanceID string
	Generation int32 // -1 for an admin or standalone consumer
	// Retention is the per-request retention of OffsetCommit v2-v4; <= 0 means
	// offsets.retention.minutes applies.
	Retention time.Duration
	Offsets   []OffsetCommit
}

// CommitOffsets handles OffsetCommit. It returns one error per offset, in order.
// The offsets are written to __consumer_offsets as one batch before they become
// visible, so a commit is all-or-nothing except for offsets refused individually
// (metadata too large). A commit to a group that does not exist with generation >= 0
// fails with ErrGroupNotFound (OffsetCommit v8 and older answer ILLEGAL_GENERATION).
func (c *Coordinator) CommitOffsets(group string, req CommitRequest) []error {
	errs := make([]error, len(req.Offsets))
	failAll := func(err error) []error {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	s, err := c.lock(group)
	if err != nil {
		return failAll(err)
	}
	defer s.mu.Unlock()
	now := c.cfg.Now()
	g := s.groups[group]
	if g == nil {
		if req.Generation >= 0 {
			return failAll(ErrGroupNotFound)
		}
		// A simple group: Kafka only for storing offsets, never rebalanced.
		g = NewGroup(group, &c.set, now)
		s.groups[group] = g
		defer s.dropIfUnused(g)
	}
	if err := g.ValidateCommit(now, req.MemberID, req.InstanceID, req.Generation); err != nil {
		return failAll(err)
	}
	var recs []kv
	var ok []int
	for i, oc := range req.Offsets {
		if len(oc.Metadata) > c.cfg.MaxMetadataSize {
			errs[i] = ErrOffsetMetadataTooLarge
			continue
		}
		ok = append(ok, i)
		recs = append(recs, offsetRecord(group, oc.TopicPartition, c.offsetOf(oc, req.Retention, now)))
	}
	if len(recs) == 0 {
		return errs
	}
	if err := c.append(s, now, recs); err != nil {
		c.cfg.Logger.Warn("store offsets failed", "group", group, "err", err)
		err = storeError(err)
		for _, i := range ok {
			errs[i] = err
		}
		return errs
	}
	for _, i := range ok {
		oc := req.Offsets[i]
		g.SetOffset(oc.TopicPartition, c.offsetOf(oc, req.Retention, now))
	}
	return errs
}

func (c *Coordinator) offsetOf(oc OffsetCommit, retention time.Duration, now time.Time) Offset {
	o := Offset{Offset: oc.Offset, LeaderEpoch: oc.LeaderEpoch, Metadata: oc.Metadata, CommitTimestamp: now.UnixMilli()}
	if retention > 0 {
		o.ExpireTimestamp = now.Add(retention).UnixMilli()
	}
	return o
}

// FetchedOffset is one partition of an OffsetFetch answer; Offset is -1 when the
// group has not committed one.
type FetchedOffset struct {
	TopicPartition
	Offset      int64
	LeaderEpoch int32
	Metadata    string
	// Pending is true when an open transaction holds an offset of the
	// partition (OffsetFetch with require_stable answers UNSTABLE_OFFSET_COMMIT).
	Pending bool
}

// FetchOffsets handles OffsetFetch: the committed offsets of tps, or of every
// committed partition when tps is nil. An unknown group has no offsets.
func (c *Coordinator) FetchOffsets(group string, tps []TopicPartition) ([]FetchedOffset, error) {
	s, err := c.lock(group)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	g := s.groups[group]
	if tps == nil {
		if g == nil {
			return nil, nil
		}
		tps = g.Offsets()
	}
	out := make([]FetchedOffset, 0, len(tps))
	for _, tp := range tps {
		f := FetchedOffset{TopicPartition: tp, Offset: -1, LeaderEpoch: -1, Pending: s.hasPending(group, tp)}
		if g != nil {
			if o, ok := g.Offset(tp); ok {
				f.Offset, f.LeaderEpoch, f.Metadata = o.Offset, o.LeaderEpoch, o.Metadata
			}
		}
		out = append(out, f)
	}
	return out, nil
}

// DeleteOffsets handles OffsetDelete (KIP-496): one error per partition, or an
// error for the whole request (ErrGroupNotFound, ErrNonEmptyGroup).
func (c *Coordinator) DeleteOffsets(group string, tps []TopicPartition) ([]error, error) {
	s, err := c.lock(group)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	g := s.groups[group]
	if g == nil {
		return nil, ErrGroupNotFound
	}
	errs := make([]error, len(tps))
	var recs []kv
	var del []TopicPartition
	for i, tp := range tps {
		if err := g.CanDeleteOffset(tp.Topic); err != nil {
			if err == ErrGroupSubscribedToTopic {
				errs[i] = err
				continue
			}
			return nil, err
		}
		if _, ok := g.Offset(tp); ok {
			recs = append(recs, offsetTombstone(group, tp))
			del = append(del, tp)
		}
	}
	if len(recs) == 0 {
		return errs, nil
	}
	now := c.cfg.Now()
	if err := c.append(s, now, recs); err != nil {
		return nil, storeError(err)
	}
	for _, tp := range del {
		g.DeleteOffset(tp)
	}
	return errs, nil
}

// DeleteGroups handles DeleteGroups: one error per group, in order. Only Empty
// groups are deleted; their offsets and metadata get tombstones.
func (c *Coordinator) DeleteGroups(groups []string) []error {
	errs := make([]error, len(groups))
	for i, id := range groups {
		errs[i] = c.deleteGroup(id)
	}
	return errs
}

func (c *Coordinator) deleteGroup(id string) error {
	s, err := c.lock(id)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	g := s.groups[id]
	if g == nil {
		return ErrGroupNotFound
	}
	if err := g.CanDelete(); err != nil {
		return err
	}
	now := c.cfg.Now()
	if err := c.append(s, now, deadGroupRecords(g, g.Offsets())); err != nil {
		return storeError(err)
	}
	g.MarkDead(now)
	delete(s.groups, id)
	return nil
}

// deadGroupRecords are the tombstones that remove a group for good.
func deadGroupRecords(g *Group, tps []TopicPartition) []kv {
	recs := make([]kv, 0, len(tps)+1)
	for _, tp := range tps {
		recs = append(recs, offsetTombstone(g.id, tp))
	}
	return append(recs, groupTombstone(g.id))
}

// DescribeGroup handles one group of DescribeGroups. An unknown group is described
// as Dead with ErrGroupNotFound (DescribeGroups v5 and older answer without error).
func (c *Coordinator) DescribeGroup(group string) (Description, error) {
	s, err := c.lock(group)
	if err != nil {
		return Description{Group: group, State: Dead}, err
	}
	defer s.mu.Unlock()
	g := s.groups[group]
	if g == nil {
		return Description{Group: group, State: Dead}, ErrGroupNotFound
	}
	return g.Describe(), nil
}

// Listing is one group as ListGroups shows it.
type Listing struct {
	Group        string
	ProtocolType string
	State        State
}

// ListGroups lists every group this coordinator serves, sorted by id. The error is
// ErrLoadInProgress while some partition is still loading (the list is then partial).
func (c *Coordinator) ListGroups() ([]Listing, error) {
	var out []Listing
	var err error
	for _, s := range c.shards {
		s.mu.Lock()
		if !s.loaded {
			err = ErrLoadInProgress
		}
		for _, g := range s.groups {
			out = append(out, Listing{Group: g.id, ProtocolType: g.protocolType, State: g.state})
		}
		s.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b Listing) int { return strings.Compare(a.Group, b.Group) })
	return out, err
}

// expireOffsets removes offsets past retention and then Empty groups left with no
// offsets, as Kafka's periodic cleanup does.
func (c *Coordinator) expireOffsets(now time.Time) {
	for _, s := range c.shards {
		s.mu.Lock()
		for id, g := range s.groups {
			expired := g.ExpiredOffsets(now, c.cfg.OffsetsRetention)
			dead := g.state == Empty && len(g.pending) == 0 && g.NumOffsets() == len(expired)
			if len(expired) == 0 && !dead {
				continue
			}
			recs := make([]kv, 0, len(expired)+1)
			for _, tp := range expired {
				recs = append(recs, offsetTombstone(id, tp))
			}
			if dead {
				recs = deadGroupRecords(g, expired)
			}
			if err := c.append(s, now, recs); err != nil {
				c.cfg.Logger.Warn("expire offsets failed", "group", id, "err", err)
				continue
			}
			for _, tp := range expired {
				g.DeleteOffset(tp)
			}
			if dead {
				g.MarkDead(now)
				delete(s.groups, id)
			}
		}
		s.mu.Unlock()
	}
}
