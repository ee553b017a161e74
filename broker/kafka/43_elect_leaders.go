package kafka

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/cluster"
)

// Election types of ElectLeaders v1+.
const (
	electPreferred int8 = 0
	electUnclean   int8 = 1
)

// handleElectLeaders moves leadership of the named partitions (null: every
// partition) to their preferred replica, the first of the replica list, when it
// is live and in sync. A partition already led by its preferred replica is
// answered ELECTION_NOT_NEEDED, as Kafka does; kadm drops those.
//
// Unclean elections are not run on request: the controller elects outside the
// ISR by itself when a topic allows it (unclean.leader.election.enable), so a
// partition with a leader needs none and one without has no eligible leader.
func (s *Server) handleElectLeaders(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.ElectLeadersRequest)
	if !ok {
		return nil, fmt.Errorf("%w: elect leaders handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.ElectLeadersResponse)
	snap := s.meta.Snapshot()
	refs := electionRefs(snap, req.Topics)
	results := make([]error, len(refs))
	var todo []cluster.PartitionRef
	var todoIdx []int
	for i, ref := range refs {
		p, err := partitionOf(snap, ref)
		switch {
		case err != nil:
			results[i] = err
		case req.ElectionType == electUnclean && p.Leader != cluster.NoLeader:
			results[i] = fmt.Errorf("%s-%d has leader %d: %w", ref.Topic, ref.Partition, p.Leader, kerr.ElectionNotNeeded)
		case req.ElectionType == electUnclean:
			results[i] = fmt.Errorf("%s-%d: unclean elections run only by the controller, per unclean.leader.election.enable: %w",
				ref.Topic, ref.Partition, kerr.EligibleLeadersNotAvailable)
		case req.ElectionType != electPreferred:
			results[i] = fmt.Errorf("election type %d: %w", req.ElectionType, kerr.InvalidRequest)
		case len(p.Replicas) > 0 && p.Leader == p.Replicas[0]:
			results[i] = fmt.Errorf("%s-%d is led by its preferred replica %d: %w", ref.Topic, ref.Partition, p.Leader, kerr.ElectionNotNeeded)
		default:
			todo = append(todo, ref)
			todoIdx = append(todoIdx, i)
		}
	}
	if len(todo) > 0 {
		s.electPreferred(todo, todoIdx, results, r.ClientID)
	}
	byTopic := map[string]int{}
	for i, ref := range refs {
		ti, ok := byTopic[ref.Topic]
		if !ok {
			ti = len(resp.Topics)
			byTopic[ref.Topic] = ti
			rt := kmsg.NewElectLeadersResponseTopic()
			rt.Topic = ref.Topic
			resp.Topics = append(resp.Topics, rt)
		}
		rp := kmsg.NewElectLeadersResponseTopicPartition()
		rp.Partition = ref.Partition
		rp.ErrorCode = errorCode(results[i])
		rp.ErrorMessage = errorMessage(results[i])
		resp.Topics[ti].Partitions = append(resp.Topics[ti].Partitions, rp)
	}
	return resp, nil
}

// electPreferred runs the preferred elections on the controller and fills
// results[idx[i]] for todo[i].
func (s *Server) electPreferred(todo []cluster.PartitionRef, idx []int, results []error, client string) {
	ops, ok := s.meta.(ReplicaOps)
	if !ok {
		// A single node leads every partition it has: nothing to move to.
		for _, i := range idx {
			results[i] = fmt.Errorf("a single-node broker has no other replica: %w", kerr.PreferredLeaderNotAvailable)
		}
		return
	}
	out, err := ops.ElectPreferred(todo)
	for j, i := range idx {
		switch {
		case err != nil:
			results[i] = fmt.Errorf("elect the preferred leader of %s-%d: %w", todo[j].Topic, todo[j].Partition, electionError(err))
		case j < len(out) && out[j] != "":
			results[i] = fmt.Errorf("%s-%d: %s: %w", todo[j].Topic, todo[j].Partition, out[j], kerr.PreferredLeaderNotAvailable)
		default:
			s.logger.Info("elected preferred leader", "topic", todo[j].Topic, "partition", todo[j].Partition, "client", client)
		}
	}
}

// electionError gives a controller failure a retriable code when it is one.
func electionError(err error) error {
	if errors.Is(err, cluster.ErrNotController) {
		return fmt.Errorf("%v: %w", err, kerr.NotController)
	}
	return err
}

// electionRefs lists the partitions a request names, or every partition of
// the metadata for a null topic list, in request order.
func electionRefs(snap *cluster.Snapshot, topics []kmsg.ElectLeadersRequestTopic) []cluster.PartitionRef {
	var refs []cluster.PartitionRef
	if topics == nil {
		for _, name := range snap.TopicNames() {
			for _, p := range snap.Topics[name].Partitions {
				refs = append(refs, cluster.PartitionRef{Topic: name, Partition: p.ID})
			}
		}
		return refs
	}
	seen := map[cluster.PartitionRef]bool{}
	for _, t := range topics {
		for _, p := range t.Partitions {
			ref := cluster.PartitionRef{Topic: t.Topic, Partition: p}
			if !seen[ref] {
				seen[ref] = true
				refs = append(refs, ref)
			}
		}
	}
	return refs
}

// partitionOf finds a partition in the metadata.
func partitionOf(snap *cluster.Snapshot, ref cluster.PartitionRef) (cluster.Partition, error) {
	t, ok := snap.Topic(ref.Topic)
	if !ok {
		return cluster.Partition{}, fmt.Errorf("topic %s: %w", ref.Topic, kerr.UnknownTopicOrPartition)
	}
	p, ok := t.Partition(ref.Partition)
	if !ok {
		return cluster.Partition{}, fmt.Errorf("partition %s-%d: %w", ref.Topic, ref.Partition, kerr.UnknownTopicOrPartition)
	}
	return p, nil
}
