package kafka

import (
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/cluster"
)

// handleAlterPartitionReassignments starts moving partitions to new replica
// lists. The controller adds the new replicas beside the old ones, and switches
// the partition to the target only once every target replica is in the ISR, so
// a reassignment copies the data before it drops a replica. The answer comes
// when the reassignment has started, not when it is done
// (ListPartitionReassignments shows the ones in progress).
//
// The request is checked here first (known partition, no duplicate or
// unregistered broker) so that one bad entry fails alone. Cancelling (null
// replicas) is not supported: the controller does not keep the replica list a
// reassignment started from; reassigning to the old list has the same effect.
func (s *Server) handleAlterPartitionReassignments(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.AlterPartitionAssignmentsRequest)
	if !ok {
		return nil, fmt.Errorf("%w: alter partition reassignments handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.AlterPartitionAssignmentsResponse)
	snap := s.meta.Snapshot()
	type entry struct {
		ti, pi int
		ref    cluster.Reassignment
	}
	var todo []entry
	for ti := range req.Topics {
		rt := &req.Topics[ti]
		st := kmsg.NewAlterPartitionAssignmentsResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
			sp.Partition = rp.Partition
			err := checkReassignment(snap, rt.Topic, rp, req.AllowReplicationFactorChange)
			if err == nil {
				todo = append(todo, entry{ti: ti, pi: len(st.Partitions),
					ref: cluster.Reassignment{Topic: rt.Topic, Partition: rp.Partition, Replicas: slices.Clone(rp.Replicas)}})
			}
			sp.ErrorCode = errorCode(err)
			sp.ErrorMessage = errorMessage(err)
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	if len(todo) == 0 {
		return resp, nil
	}
	fail := func(e entry, err error) {
		sp := &resp.Topics[e.ti].Partitions[e.pi]
		sp.ErrorCode = errorCode(err)
		sp.ErrorMessage = errorMessage(err)
	}
	ops, ok := s.meta.(ReplicaOps)
	if !ok {
		for _, e := range todo {
			if !samePlacement(snap, e.ref) {
				fail(e, fmt.Errorf("a single-node broker cannot move %s-%d: %w", e.ref.Topic, e.ref.Partition, kerr.InvalidReplicaAssignment))
			}
		}
		return resp, nil
	}
	rs := make([]cluster.Reassignment, len(todo))
	for i, e := range todo {
		rs[i] = e.ref
	}
	results, err := ops.Reassign(rs)
	for i, e := range todo {
		switch {
		case err != nil:
			fail(e, fmt.Errorf("reassign %s-%d: %w", e.ref.Topic, e.ref.Partition, electionError(err)))
		case i < len(results) && results[i] != "":
			fail(e, fmt.Errorf("reassign %s-%d: %s: %w", e.ref.Topic, e.ref.Partition, results[i], kerr.InvalidReplicaAssignment))
		default:
			s.logger.Info("partition reassignment started", "topic", e.ref.Topic, "partition", e.ref.Partition,
				"replicas", e.ref.Replicas, "client", r.ClientID)
		}
	}
	return resp, nil
}

// checkReassignment validates one requested placement against the metadata.
func checkReassignment(snap *cluster.Snapshot, topic string, rp kmsg.AlterPartitionAssignmentsRequestTopicPartition, allowRFChange bool) error {
	p, err := partitionOf(snap, cluster.PartitionRef{Topic: topic, Partition: rp.Partition})
	if err != nil {
		return err
	}
	if rp.Replicas == nil {
		if p.Target == nil {
			return fmt.Errorf("%s-%d: %w", topic, rp.Partition, kerr.NoReassignmentInProgress)
		}
		return fmt.Errorf("%s-%d: cancelling a reassignment is not supported, reassign to the old replicas instead: %w",
			topic, rp.Partition, kerr.InvalidReplicaAssignment)
	}
	if len(rp.Replicas) == 0 {
		return fmt.Errorf("%s-%d: no replicas: %w", topic, rp.Partition, kerr.InvalidReplicaAssignment)
	}
	seen := map[int32]bool{}
	for _, id := range rp.Replicas {
		if seen[id] {
			return fmt.Errorf("%s-%d: broker %d named twice: %w", topic, rp.Partition, id, kerr.InvalidReplicaAssignment)
		}
		seen[id] = true
		if _, ok := snap.Broker(id); !ok {
			return fmt.Errorf("%s-%d: broker %d is not registered: %w", topic, rp.Partition, id, kerr.InvalidReplicaAssignment)
		}
	}
	current := p.Replicas
	if p.Target != nil {
		current = p.Target
	}
	if !allowRFChange && len(rp.Replicas) != len(current) {
		return fmt.Errorf("%s-%d: %d replicas for a replication factor of %d: %w",
			topic, rp.Partition, len(rp.Replicas), len(current), kerr.InvalidReplicationFactor)
	}
	return nil
}

// samePlacement reports whether a reassignment asks for the replicas a
// partition already has (a no-op a single node accepts).
func samePlacement(snap *cluster.Snapshot, r cluster.Reassignment) bool {
	p, err := partitionOf(snap, cluster.PartitionRef{Topic: r.Topic, Partition: r.Partition})
	return err == nil && slices.Equal(p.Replicas, r.Replicas)
}
