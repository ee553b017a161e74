package kafka

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/cluster"
	"github.com/tributary-io/tributary/broker/group"
	"github.com/tributary-io/tributary/broker/txn"
)

// Coordinator key types of FindCoordinator.
const (
	coordinatorGroup       = 0
	coordinatorTransaction = 1
)

// handleFindCoordinator names the broker that coordinates a group (the leader of
// the group's partition of __consumer_offsets) or a transactional id (the leader
// of its partition of __transaction_state). v4+ asks for several keys at once.
func (s *Server) handleFindCoordinator(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.FindCoordinatorRequest)
	if !ok {
		return nil, fmt.Errorf("%w: find coordinator handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
	keys := req.CoordinatorKeys
	if r.Version < 4 {
		keys = []string{req.CoordinatorKey}
	}
	snap := s.meta.Snapshot()
	for _, key := range keys {
		c := kmsg.NewFindCoordinatorResponseCoordinator()
		c.Key = key
		b, err := coordinatorFor(snap, req.CoordinatorType, key)
		if err != nil {
			c.NodeID, c.Port = -1, -1
		} else {
			c.NodeID, c.Host, c.Port = b.ID, b.Host, b.Port
		}
		c.ErrorCode = errorCode(err)
		c.ErrorMessage = errorMessage(err)
		resp.Coordinators = append(resp.Coordinators, c)
	}
	if r.Version < 4 && len(resp.Coordinators) == 1 {
		c := resp.Coordinators[0]
		resp.ErrorCode, resp.ErrorMessage = c.ErrorCode, c.ErrorMessage
		resp.NodeID, resp.Host, resp.Port = c.NodeID, c.Host, c.Port
		resp.Coordinators = nil
	}
	return resp, nil
}

// coordinatorFor returns the broker leading key's partition of __consumer_offsets
// (groups) or __transaction_state (transactional ids); both hash the key as
// abs(javaHashCode(key)) % partitions.
func coordinatorFor(snap *cluster.Snapshot, keyType int8, key string) (cluster.Broker, error) {
	topic, partitionFor := group.OffsetsTopic, group.PartitionFor
	switch keyType {
	case coordinatorGroup:
	case coordinatorTransaction:
		if key == "" {
			return cluster.Broker{}, fmt.Errorf("empty transactional id: %w", kerr.InvalidRequest)
		}
		topic, partitionFor = txn.StateTopic, txn.PartitionFor
	default:
		return cluster.Broker{}, fmt.Errorf("coordinator key type %d: %w", keyType, kerr.InvalidRequest)
	}
	t, ok := snap.Topic(topic)
	if !ok || len(t.Partitions) == 0 {
		return cluster.Broker{}, fmt.Errorf("%s does not exist yet: %w", topic, group.ErrCoordinatorNotAvailable)
	}
	p := t.Partitions[partitionFor(key, int32(len(t.Partitions)))]
	for _, b := range snap.Brokers {
		if b.ID == p.Leader {
			return b, nil
		}
	}
	return cluster.Broker{}, fmt.Errorf("%s-%d has no live leader: %w", topic, p.ID, group.ErrCoordinatorNotAvailable)
}
