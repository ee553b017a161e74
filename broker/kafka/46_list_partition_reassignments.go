package kafka

import (
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/cluster"
)

// handleListPartitionReassignments lists the reassignments in progress, of the
// named partitions or (null topics) of all. A partition not being reassigned
// is left out, as in Kafka.
//
// The metadata keeps a reassignment as the union of old and new replicas plus
// the target, not the list it started from, so RemovingReplicas (replicas not
// in the target) is exact while AddingReplicas lists the target replicas not
// yet in sync: a new replica that already caught up is not shown as adding.
func (s *Server) handleListPartitionReassignments(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.ListPartitionReassignmentsRequest)
	if !ok {
		return nil, fmt.Errorf("%w: list partition reassignments handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.ListPartitionReassignmentsResponse)
	snap := s.meta.Snapshot()
	add := func(t *cluster.Topic, ids []int32) {
		var st *kmsg.ListPartitionReassignmentsResponseTopic
		for _, id := range ids {
			p, ok := t.Partition(id)
			if !ok || p.Target == nil {
				continue
			}
			if st == nil {
				resp.Topics = append(resp.Topics, kmsg.NewListPartitionReassignmentsResponseTopic())
				st = &resp.Topics[len(resp.Topics)-1]
				st.Topic = t.Name
			}
			sp := kmsg.NewListPartitionReassignmentsResponseTopicPartition()
			sp.Partition = p.ID
			sp.Replicas = slices.Clone(p.Replicas)
			sp.AddingReplicas = []int32{}
			sp.RemovingReplicas = []int32{}
			for _, r := range p.Target {
				if !slices.Contains(p.ISR, r) {
					sp.AddingReplicas = append(sp.AddingReplicas, r)
				}
			}
			for _, r := range p.Replicas {
				if !slices.Contains(p.Target, r) {
					sp.RemovingReplicas = append(sp.RemovingReplicas, r)
				}
			}
			st.Partitions = append(st.Partitions, sp)
		}
	}
	if req.Topics == nil {
		for _, name := range snap.TopicNames() {
			t := snap.Topics[name]
			ids := make([]int32, len(t.Partitions))
			for i, p := range t.Partitions {
				ids[i] = p.ID
			}
			add(t, ids)
		}
		return resp, nil
	}
	for _, rt := range req.Topics {
		if t, ok := snap.Topic(rt.Topic); ok {
			add(t, rt.Partitions)
		}
	}
	return resp, nil
}
