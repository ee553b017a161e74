package kafka

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/cluster"
	"github.com/tributary-io/tributary/broker/group"
)

// handleOffsetDelete deletes committed offsets of a group (KIP-496): any of an
// Empty group, and those of topics an active consumer group does not consume.
func (s *Server) handleOffsetDelete(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.OffsetDeleteRequest)
	if !ok {
		return nil, fmt.Errorf("%w: offset delete handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
	coord, err := s.groupsOrErr()
	if err != nil {
		resp.ErrorCode = errorCode(err)
		return resp, nil
	}
	snap := s.meta.Snapshot()
	var tps []group.TopicPartition
	for _, t := range req.Topics {
		if _, ok := snap.Topic(t.Topic); !ok {
			continue
		}
		for _, p := range t.Partitions {
			tps = append(tps, group.TopicPartition{Topic: t.Topic, Partition: p.Partition})
		}
	}
	errs, err := coord.DeleteOffsets(req.Group, tps)
	if err != nil {
		resp.ErrorCode = errorCode(err)
		return resp, nil
	}
	k := 0
	for _, t := range req.Topics {
		_, known := snap.Topic(t.Topic)
		rt := kmsg.NewOffsetDeleteResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetDeleteResponseTopicPartition()
			rp.Partition = p.Partition
			if !known {
				rp.ErrorCode = errorCode(cluster.ErrUnknownTopic)
			} else {
				rp.ErrorCode = errorCode(errs[k])
				k++
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}
