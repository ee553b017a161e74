package kafka

import (
	"errors"
	"fmt"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/cluster"
)

// topicAuthorizedOperations is the KIP-430 bitfield of what a client may do with
// a topic. There are no ACLs yet, so everything: READ(3), WRITE(4), CREATE(5),
// DELETE(6), ALTER(7), DESCRIBE(8), DESCRIBE_CONFIGS(10), ALTER_CONFIGS(11).
const topicAuthorizedOperations = 1<<3 | 1<<4 | 1<<5 | 1<<6 | 1<<7 | 1<<8 | 1<<10 | 1<<11

// handleMetadata answers brokers, cluster id, controller and topics. A null topic
// list (an empty one in v0) means every topic. Unknown topics are created when the
// request allows it (always before v4) and auto.create.topics.enable is on.
func (s *Server) handleMetadata(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.MetadataRequest)
	if !ok {
		return nil, fmt.Errorf("%w: metadata handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	snap := s.meta.Snapshot()

	for _, b := range snap.Brokers {
		if b.Fenced {
			// As Kafka (KRaft) answers: only live brokers. A client then drops
			// the connections and cached coordinators of a dead node and looks
			// them up again, instead of dialing it until it returns.
			continue
		}
		mb := kmsg.NewMetadataResponseBroker()
		mb.NodeID, mb.Host, mb.Port = b.ID, b.Host, b.Port
		if b.Rack != "" {
			rack := b.Rack
			mb.Rack = &rack
		}
		resp.Brokers = append(resp.Brokers, mb)
	}
	clusterID := snap.ClusterID
	resp.ClusterID = &clusterID
	resp.ControllerID = snap.ControllerID
	if resp.ControllerID < 0 || len(snap.Brokers) == 0 {
		resp.ControllerID = s.cfg.NodeID
	}

	allowCreate := s.cfg.AutoCreateTopics && (r.Version < 4 || req.AllowAutoTopicCreation)
	all := req.Topics == nil || (r.Version == 0 && len(req.Topics) == 0)
	if all {
		names := make([]string, 0, len(snap.Topics))
		for name := range snap.Topics {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			resp.Topics = append(resp.Topics, s.describeTopic(snap.Topics[name], req))
		}
		return resp, nil
	}
	for i := range req.Topics {
		resp.Topics = append(resp.Topics, s.metadataTopic(snap, &req.Topics[i], req, allowCreate))
	}
	return resp, nil
}

// metadataTopic answers one requested topic, by id (v10+, null name) or by name,
// creating it when allowed.
func (s *Server) metadataTopic(snap *cluster.Snapshot, rt *kmsg.MetadataRequestTopic, req *kmsg.MetadataRequest, allowCreate bool) kmsg.MetadataResponseTopic {
	if rt.Topic == nil {
		if t, ok := snap.TopicsByID[cluster.UUID(rt.TopicID)]; ok {
			return s.describeTopic(t, req)
		}
		return metadataTopicError(nil, rt.TopicID, kerr.UnknownTopicID.Code)
	}
	name := *rt.Topic
	if t, ok := snap.Topics[name]; ok {
		return s.describeTopic(t, req)
	}
	if err := cluster.ValidateTopicName(name); err != nil {
		return metadataTopicError(&name, [16]byte{}, errorCode(err))
	}
	if !allowCreate {
		return metadataTopicError(&name, [16]byte{}, kerr.UnknownTopicOrPartition.Code)
	}
	t, err := s.meta.CreateTopic(name, s.cfg.NumPartitions, s.cfg.DefaultReplicationFactor, nil, false)
	if errors.Is(err, cluster.ErrTopicExists) {
		// Another request created it meanwhile.
		if t, ok := s.meta.Snapshot().Topics[name]; ok {
			return s.describeTopic(t, req)
		}
		return metadataTopicError(&name, [16]byte{}, kerr.LeaderNotAvailable.Code)
	}
	if err != nil {
		s.logger.Warn("auto-creating topic failed", "topic", name, "err", err)
		return metadataTopicError(&name, [16]byte{}, errorCode(err))
	}
	s.logger.Info("auto-created topic", "topic", name, "partitions", s.cfg.NumPartitions, "replication_factor", s.cfg.DefaultReplicationFactor)
	return s.describeTopic(t, req)
}

func metadataTopicError(name *string, id [16]byte, code int16) kmsg.MetadataResponseTopic {
	mt := kmsg.NewMetadataResponseTopic()
	mt.Topic, mt.TopicID, mt.ErrorCode = name, id, code
	mt.Partitions = []kmsg.MetadataResponseTopicPartition{}
	return mt
}

// describeTopic answers an existing topic with its partitions.
func (s *Server) describeTopic(t *cluster.Topic, req *kmsg.MetadataRequest) kmsg.MetadataResponseTopic {
	mt := kmsg.NewMetadataResponseTopic()
	name := t.Name
	mt.Topic = &name
	mt.TopicID = t.ID
	mt.IsInternal = t.Internal
	if req.IncludeTopicAuthorizedOperations {
		mt.AuthorizedOperations = topicAuthorizedOperations
	}
	mt.Partitions = make([]kmsg.MetadataResponseTopicPartition, len(t.Partitions))
	for i, p := range t.Partitions {
		mp := &mt.Partitions[i]
		mp.Default()
		mp.Partition = p.ID
		mp.Leader = p.Leader
		mp.LeaderEpoch = p.LeaderEpoch
		mp.Replicas = append([]int32{}, p.Replicas...)
		mp.ISR = append([]int32{}, p.ISR...)
		mp.OfflineReplicas = []int32{}
		if p.Leader < 0 {
			mp.ErrorCode = kerr.LeaderNotAvailable.Code
		}
	}
	return mt
}
