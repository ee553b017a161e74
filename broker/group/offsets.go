package group

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TopicPartition names a partition whose offset a group commits.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// Offset is a committed offset with its metadata, as stored in __consumer_offsets.
type Offset struct {
	Offset      int64
	LeaderEpoch int32 // -1 when unknown
	Metadata    string
	// CommitTimestamp is when the commit was made, in Unix milliseconds.
	CommitTimestamp int64
	// ExpireTimestamp is an explicit expiry in Unix milliseconds (OffsetCommit v2-v4
	// retention time), or 0 (or -1) to follow offsets.retention.minutes.
	ExpireTimestamp int64
}

// ValidateCommit checks an OffsetCommit against the group (Kafka's rules): a commit
// with a negative generation and no member is an admin or standalone consumer,
// allowed only while the group is Empty; otherwise the member and generation must
// be current, and a group still completing its rebalance refuses commits. A valid
// commit from a member extends its session.
func (g *Group) ValidateCommit(now time.Time, memberID, instanceID string, generation int32) error {
	if g.state == Dead {
		return ErrCoordinatorNotAvailable
	}
	if generation < 0 && g.state == Empty {
		return nil
	}
	if generation >= 0 || memberID != "" || instanceID != "" {
		if err := g.checkMember(memberID, instanceID); err != nil {
			return err
		}
		if generation != g.generation {
			return ErrIllegalGeneration
		}
	} else if g.state != Empty {
		return ErrUnknownMemberID
	}
	if g.state == CompletingRebalance {
		// The member has its join response but not yet its assignment.
		return ErrRebalanceInProgress
	}
	if m, ok := g.members[memberID]; ok {
		m.deadline = now.Add(m.sessionTimeout)
	}
	return nil
}

// SetOffset records a committed offset (after the driver made it durable).
func (g *Group) SetOffset(tp TopicPartition, o Offset) { g.offsets[tp] = o }

// DeleteOffset forgets a committed offset.
func (g *Group) DeleteOffset(tp TopicPartition) { delete(g.offsets, tp) }

// Offset returns the committed offset of tp.
func (g *Group) Offset(tp TopicPartition) (Offset, bool) {
	o, ok := g.offsets[tp]
	return o, ok
}

// Offsets returns every committed partition, sorted by topic and partition.
func (g *Group) Offsets() []TopicPartition {
	tps := slices.Collect(maps.Keys(g.offsets))
	slices.SortFunc(tps, compareTP)
	return tps
}

// NumOffsets is how many partitions have a committed offset.
func (g *Group) NumOffsets() int { return len(g.offsets) }

func compareTP(a, b TopicPartition) int {
	if c := strings.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	return int(a.Partition) - int(b.Partition)
}

// SubscribedTo reports whether the group's members consume topic. When their
// subscriptions cannot be read (not a consumer group) the answer is true, the
// safe side for OffsetDelete.
func (g *Group) SubscribedTo(topic string) bool {
	if g.state == Empty || g.state == Dead {
		return false
	}
	if g.subscribed == nil {
		return true
	}
	return g.subscribed[topic]
}

// CanDeleteOffset reports whether OffsetDelete may remove an offset of topic: any
// in an Empty group, and in an active consumer group those of topics it does not
// consume (KIP-496). Other active groups refuse as a whole with ErrNonEmptyGroup.
func (g *Group) CanDeleteOffset(topic string) error {
	switch g.state {
	case Dead:
		return ErrGroupNotFound
	case Empty:
		return nil
	}
	if g.protocolType != "consumer" {
		return ErrNonEmptyGroup
	}
	if g.SubscribedTo(topic) {
		return ErrGroupSubscribedToTopic
	}
	return nil
}

// computeSubscribed reads each member's consumer subscription for the selected
// protocol; nil when the group is not a consumer group or any metadata is unreadable.
func (g *Group) computeSubscribed() map[string]bool {
	if g.protocolType != "consumer" || len(g.members) == 0 {
		return nil
	}
	out := map[string]bool{}
	for _, m := range g.members {
		var meta kmsg.ConsumerMemberMetadata
		if err := meta.ReadFrom(m.metadata(g.protocol)); err != nil {
			return nil
		}
		for _, t := range meta.Topics {
			out[t] = true
		}
	}
	return out
}

// ExpiredOffsets returns the offsets past offsets.retention.minutes at now, by
// Kafka's rules (KIP-211): in an Empty group retention counts from when it became
// empty (or from the commit for a group that never had members); in a Stable
// consumer group only offsets of topics it no longer consumes expire, counted from
// their commit; other groups keep their offsets. An explicit ExpireTimestamp wins.
func (g *Group) ExpiredOffsets(now time.Time, retention time.Duration) []TopicPartition {
	nowMs := now.UnixMilli()
	var base func(o Offset) int64
	var eligible func(tp TopicPartition) bool
	switch {
	case g.state == Empty && g.protocolType != "":
		base = func(Offset) int64 { return g.stateTime.UnixMilli() }
	case g.state == Empty:
		base = func(o Offset) int64 { return o.CommitTimestamp }
	case g.state == Stable && g.protocolType == "consumer" && g.subscribed != nil:
		base = func(o Offset) int64 { return o.CommitTimestamp }
		eligible = func(tp TopicPartition) bool { return !g.subscribed[tp.Topic] }
	default:
		return nil
	}
	var out []TopicPartition
	for _, tp := range g.Offsets() {
		if eligible != nil && !eligible(tp) {
			continue
		}
		o := g.offsets[tp]
		if o.ExpireTimestamp > 0 {
			if nowMs >= o.ExpireTimestamp {
				out = append(out, tp)
			}
		} else if nowMs-base(o) >= retention.Milliseconds() {
			out = append(out, tp)
		}
	}
	return out
}
