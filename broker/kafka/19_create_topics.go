package kafka

import (
	"errors"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/cluster"
)

// handleCreateTopics creates each requested topic (or only validates it), and
// answers per topic: an error with its message, or the topic's id (v7+),
// partition count, replication factor and configs (v5+). -1 partitions or
// replication factor take the broker defaults; a replica assignment places
// replicas by hand on registered brokers.
func (s *Server) handleCreateTopics(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.CreateTopicsRequest)
	if !ok {
		return nil, fmt.Errorf("%w: create topics handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	dups := duplicates(len(req.Topics), func(i int) string { return req.Topics[i].Topic })
	for i := range req.Topics {
		rt := &req.Topics[i]
		st := kmsg.NewCreateTopicsResponseTopic()
		st.Topic = rt.Topic
		var t *cluster.Topic
		err := fmt.Errorf("topic %s is named more than once in the request: %w", rt.Topic, kerr.InvalidRequest)
		if !dups[rt.Topic] {
			t, err = s.createTopic(rt, req.ValidateOnly)
		}
		if err != nil {
			st.ErrorCode = errorCode(err)
			st.ErrorMessage = errorMessage(err)
			resp.Topics = append(resp.Topics, st)
			continue
		}
		if !req.ValidateOnly {
			// A validate-only request creates nothing, so there is no id to give.
			st.TopicID = t.ID
			s.logger.Info("created topic", "topic", t.Name, "id", t.ID.String(), "partitions", len(t.Partitions),
				"replication_factor", len(t.Partitions[0].Replicas), "client", r.ClientID)
		}
		st.NumPartitions = int32(len(t.Partitions))
		st.ReplicationFactor = int16(len(t.Partitions[0].Replicas))
		for _, e := range s.topicConfigEntries(t.Configs, nil) {
			c := kmsg.NewCreateTopicsResponseTopicConfig()
			c.Name, c.Value, c.ReadOnly, c.Source, c.IsSensitive = e.Name, e.Value, e.ReadOnly, int8(e.Source), e.IsSensitive
			st.Configs = append(st.Configs, c)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

// createTopic turns one requested topic into a cluster.TopicSpec and creates it.
func (s *Server) createTopic(rt *kmsg.CreateTopicsRequestTopic, validateOnly bool) (*cluster.Topic, error) {
	if err := cluster.ValidateTopicName(rt.Topic); err != nil {
		return nil, err
	}
	spec := cluster.TopicSpec{Name: rt.Topic, Partitions: rt.NumPartitions, ReplicationFactor: rt.ReplicationFactor}
	if len(rt.ReplicaAssignment) > 0 {
		if rt.NumPartitions != -1 || rt.ReplicationFactor != -1 {
			return nil, fmt.Errorf("a replica assignment requires partitions and replication factor -1, not %d and %d: %w",
				rt.NumPartitions, rt.ReplicationFactor, kerr.InvalidRequest)
		}
		assignment, err := replicaAssignment(rt.ReplicaAssignment)
		if err != nil {
			return nil, err
		}
		spec.Assignment = assignment
	} else {
		switch {
		case rt.NumPartitions == -1:
			spec.Partitions = s.cfg.NumPartitions
		case rt.NumPartitions < 1:
			return nil, fmt.Errorf("%w: %d partitions; use at least 1, or -1 for the broker default", cluster.ErrInvalidPartitions, rt.NumPartitions)
		}
		switch {
		case rt.ReplicationFactor == -1:
			spec.ReplicationFactor = s.cfg.DefaultReplicationFactor
		case rt.ReplicationFactor < 1:
			return nil, fmt.Errorf("%w: replication factor %d; use at least 1, or -1 for the broker default", cluster.ErrInvalidReplicationFactor, rt.ReplicationFactor)
		}
	}
	configs, err := createConfigs(rt.Configs)
	if err != nil {
		return nil, err
	}
	spec.Configs = configs
	return s.meta.Create(spec, validateOnly)
}

// replicaAssignment orders a manual assignment by partition, which must count
// 0, 1, 2, ... without gaps.
func replicaAssignment(in []kmsg.CreateTopicsRequestTopicReplicaAssignment) ([][]int32, error) {
	sorted := slices.Clone(in)
	slices.SortFunc(sorted, func(a, b kmsg.CreateTopicsRequestTopicReplicaAssignment) int {
		return int(a.Partition) - int(b.Partition)
	})
	out := make([][]int32, len(sorted))
	for i, a := range sorted {
		if a.Partition != int32(i) {
			return nil, fmt.Errorf("%w: assigned partitions must be 0 to %d without gaps or repeats", cluster.ErrInvalidReplicaAssignment, len(sorted)-1)
		}
		out[i] = a.Replicas
	}
	return out, nil
}

// createConfigs collects requested configs; Kafka refuses null values and we
// refuse a name given twice rather than pick one.
func createConfigs(in []kmsg.CreateTopicsRequestTopicConfig) (map[string]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(in))
	var errs []error
	for _, c := range in {
		if _, seen := out[c.Name]; seen {
			errs = append(errs, fmt.Errorf("config %s is given twice", c.Name))
			continue
		}
		if c.Value == nil {
			errs = append(errs, fmt.Errorf("config %s has a null value", c.Name))
			continue
		}
		out[c.Name] = *c.Value
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", cluster.ErrInvalidConfig, errors.Join(errs...))
	}
	return out, nil
}

// duplicates returns the names that occur more than once among n names.
func duplicates(n int, name func(i int) string) map[string]bool {
	seen := make(map[string]int, n)
	for i := range n {
		seen[name(i)]++
	}
	dups := map[string]bool{}
	for k, c := range seen {
		if c > 1 {
			dups[k] = true
		}
	}
	return dups
}
