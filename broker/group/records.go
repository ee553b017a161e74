package group

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/record"
)

// Key versions of __consumer_offsets records, as Kafka writes them: 0 and 1 are
// offset commits, 2 is group metadata. Higher versions belong to the KIP-848
// consumer protocol, which Tributary does not write; the loader skips them.
const (
	offsetKeyVersion = 1
	groupKeyVersion  = 2
	// groupValueVersion 3 carries static members (KIP-345); Kafka writes it too.
	groupValueVersion = 3
	// offsetValueVersion 3 carries the leader epoch; version 1 is used instead when a
	// commit has an explicit expire timestamp, as Kafka does.
	offsetValueVersion = 3
)

// kv is one record of __consumer_offsets; a nil Value is a tombstone.
type kv struct {
	Key, Value []byte
}

func offsetKey(group string, tp TopicPartition) []byte {
	k := kmsg.OffsetCommitKey{Version: offsetKeyVersion, Group: group, Topic: tp.Topic, Partition: tp.Partition}
	return k.AppendTo(nil)
}

func offsetRecord(group string, tp TopicPartition, o Offset) kv {
	v := kmsg.OffsetCommitValue{
		Version:         offsetValueVersion,
		Offset:          o.Offset,
		LeaderEpoch:     o.LeaderEpoch,
		Metadata:        o.Metadata,
		CommitTimestamp: o.CommitTimestamp,
	}
	if o.ExpireTimestamp > 0 {
		v.Version = 1
		v.ExpireTimestamp = o.ExpireTimestamp
	}
	return kv{Key: offsetKey(group, tp), Value: v.AppendTo(nil)}
}

func offsetTombstone(group string, tp TopicPartition) kv {
	return kv{Key: offsetKey(group, tp)}
}

func groupKey(group string) []byte {
	k := kmsg.GroupMetadataKey{Version: groupKeyVersion, Group: group}
	return k.AppendTo(nil)
}

func groupTombstone(group string) kv { return kv{Key: groupKey(group)} }

// groupRecord encodes the group's generation, members and assignments, which is
// what a restarted coordinator needs to keep serving a Stable group.
func groupRecord(g *Group) kv {
	v := kmsg.NewGroupMetadataValue()
	v.Version = groupValueVersion
	v.ProtocolType = g.protocolType
	v.Generation = g.generation
	v.Protocol = optString(g.protocol)
	v.Leader = optString(g.leader)
	v.CurrentStateTimestamp = g.stateTime.UnixMilli()
	for _, id := range g.order {
		m := g.members[id]
		mv := kmsg.NewGroupMetadataValueMember()
		mv.MemberID = id
		mv.InstanceID = optString(m.instanceID)
		mv.ClientID = m.clientID
		mv.ClientHost = m.clientHost
		mv.RebalanceTimeoutMillis = int32(m.rebalanceTimeout.Milliseconds())
		mv.SessionTimeoutMillis = int32(m.sessionTimeout.Milliseconds())
		mv.Subscription = m.metadata(g.protocol)
		mv.Assignment = m.assignment
		v.Members = append(v.Members, mv)
	}
	return kv{Key: groupKey(g.id), Value: v.AppendTo(nil)}
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func derefString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// restoreGroup rebuilds a group from its stored metadata: Stable with its members
// and assignments if it had any (their sessions restart at now), else Empty.
func restoreGroup(id string, v *kmsg.GroupMetadataValue, set *Settings, now time.Time) *Group {
	g := NewGroup(id, set, now)
	g.protocolType = v.ProtocolType
	g.generation = v.Generation
	g.protocol = derefString(v.Protocol)
	if v.CurrentStateTimestamp > 0 {
		g.stateTime = time.UnixMilli(v.CurrentStateTimestamp)
	}
	for _, mv := range v.Members {
		if _, dup := g.members[mv.MemberID]; dup {
			continue
		}
		session := time.Duration(mv.SessionTimeoutMillis) * time.Millisecond
		rebalance := time.Duration(mv.RebalanceTimeoutMillis) * time.Millisecond
		if mv.RebalanceTimeoutMillis < 0 {
			rebalance = session
		}
		g.add(&member{
			id:               mv.MemberID,
			instanceID:       derefString(mv.InstanceID),
			clientID:         mv.ClientID,
			clientHost:       mv.ClientHost,
			sessionTimeout:   session,
			rebalanceTimeout: rebalance,
			protocolType:     v.ProtocolType,
			protocols:        []Protocol{{Name: g.protocol, Metadata: mv.Subscription}},
			assignment:       mv.Assignment,
			deadline:         now.Add(session),
		})
	}
	if len(g.members) > 0 {
		g.state = Stable
		if l := derefString(v.Leader); l != "" {
			if _, ok := g.members[l]; ok {
				g.leader = l
			}
		}
		g.subscribed = g.computeSubscribed()
	} else {
		g.protocol = ""
	}
	return g
}

// entry is one decoded __consumer_offsets record.
type entry struct {
	group string
	// For an offset commit: the partition and the offset (nil for a tombstone).
	isOffset bool
	tp       TopicPartition
	offset   *Offset
	// For group metadata: the value, nil for a tombstone.
	meta *kmsg.GroupMetadataValue
}

// errSkip marks a record of a kind this coordinator does not use (KIP-848 records).
var errSkip = fmt.Errorf("group: record type not used")

// decodeRecord parses one record. It returns errSkip for key versions it ignores.
func decodeRecord(key, value []byte) (entry, error) {
	if len(key) < 2 {
		return entry{}, fmt.Errorf("key of %d bytes: too short", len(key))
	}
	switch version := int16(binary.BigEndian.Uint16(key)); version {
	case 0, 1:
		var k kmsg.OffsetCommitKey
		if err := k.ReadFrom(key); err != nil {
			return entry{}, fmt.Errorf("offset commit key: %w", err)
		}
		e := entry{group: k.Group, isOffset: true, tp: TopicPartition{k.Topic, k.Partition}}
		if value == nil {
			return e, nil
		}
		var v kmsg.OffsetCommitValue
		if err := v.ReadFrom(value); err != nil {
			return entry{}, fmt.Errorf("offset commit value of %s %s/%d: %w", k.Group, k.Topic, k.Partition, err)
		}
		o := Offset{Offset: v.Offset, LeaderEpoch: -1, Metadata: v.Metadata, CommitTimestamp: v.CommitTimestamp}
		if v.Version >= 3 {
			o.LeaderEpoch = v.LeaderEpoch
		}
		if v.Version == 1 {
			o.ExpireTimestamp = v.ExpireTimestamp
		}
		e.offset = &o
		return e, nil
	case 2:
		var k kmsg.GroupMetadataKey
		if err := k.ReadFrom(key); err != nil {
			return entry{}, fmt.Errorf("group metadata key: %w", err)
		}
		e := entry{group: k.Group}
		if value == nil {
			return e, nil
		}
		v := kmsg.NewGroupMetadataValue()
		if err := v.ReadFrom(value); err != nil {
			return entry{}, fmt.Errorf("group metadata value of %s: %w", k.Group, err)
		}
		e.meta = &v
		return e, nil
	default:
		return entry{}, errSkip
	}
}

// buildBatch encodes records into one RecordBatch v2 stamped with now.
func buildBatch(now time.Time, recs []kv) ([]byte, error) {
	rs := make([]record.Record, len(recs))
	for i, r := range recs {
		rs[i] = record.Record{OffsetDelta: int32(i), Key: r.Key, Value: r.Value}
	}
	b, err := record.Build(record.BatchSpec{
		BaseTimestamp: now.UnixMilli(),
		ProducerID:    -1,
		ProducerEpoch: -1,
		BaseSequence:  -1,
	}, rs)
	if err != nil {
		return nil, fmt.Errorf("build __consumer_offsets batch of %d records: %w", len(recs), err)
	}
	return b, nil
}
