package kafka

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/group"
)

// handleOffsetFetch returns committed offsets: of the named partitions, or of
// every partition the group committed when the topic list is null. v8+ asks for
// several groups at once. A partition without a commit gets offset -1. With
// require_stable (v7+), a partition whose offset an open transaction holds gets
// UNSTABLE_OFFSET_COMMIT, which clients retry.
func (s *Server) handleOffsetFetch(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.OffsetFetchRequest)
	if !ok {
		return nil, fmt.Errorf("%w: offset fetch handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	if r.Version >= 8 {
		for _, rg := range req.Groups {
			var tps []group.TopicPartition
			if rg.Topics != nil {
				tps = []group.TopicPartition{}
				for _, t := range rg.Topics {
					for _, p := range t.Partitions {
						tps = append(tps, group.TopicPartition{Topic: t.Topic, Partition: p})
					}
				}
			}
			offs, err := s.fetchOffsets(rg.Group, tps)
			g := kmsg.NewOffsetFetchResponseGroup()
			g.Group = rg.Group
			g.ErrorCode = errorCode(err)
			for _, byTopic := range groupByTopic(offs) {
				t := kmsg.NewOffsetFetchResponseGroupTopic()
				t.Topic = byTopic[0].Topic
				for _, o := range byTopic {
					p := kmsg.NewOffsetFetchResponseGroupTopicPartition()
					p.Partition, p.Offset, p.LeaderEpoch = o.Partition, o.Offset, o.LeaderEpoch
					p.Metadata = &o.Metadata
					if req.RequireStable && o.Pending {
						p.Offset, p.ErrorCode = -1, kerr.UnstableOffsetCommit.Code
					}
					t.Partitions = append(t.Partitions, p)
				}
				g.Topics = append(g.Topics, t)
			}
			resp.Groups = append(resp.Groups, g)
		}
		return resp, nil
	}

	var tps []group.TopicPartition
	if req.Topics != nil {
		tps = []group.TopicPartition{}
		for _, t := range req.Topics {
			for _, p := range t.Partitions {
				tps = append(tps, group.TopicPartition{Topic: t.Topic, Partition: p})
			}
		}
	}
	offs, err := s.fetchOffsets(req.Group, tps)
	if err != nil && r.Version >= 2 {
		resp.ErrorCode = errorCode(err)
		return resp, nil
	}
	if err != nil {
		// v0 and v1 have no group error: it goes on every partition asked for.
		offs = make([]group.FetchedOffset, len(tps))
		for i, tp := range tps {
			offs[i] = group.FetchedOffset{TopicPartition: tp, Offset: -1, LeaderEpoch: -1}
		}
	}
	for _, byTopic := range groupByTopic(offs) {
		t := kmsg.NewOffsetFetchResponseTopic()
		t.Topic = byTopic[0].Topic
		for _, o := range byTopic {
			p := kmsg.NewOffsetFetchResponseTopicPartition()
			p.Partition, p.Offset, p.LeaderEpoch = o.Partition, o.Offset, o.LeaderEpoch
			p.Metadata = &o.Metadata
			p.ErrorCode = errorCode(err)
			if r.Version >= 7 && req.RequireStable && o.Pending {
				// An open transaction is about to replace this offset (KIP-447).
				p.Offset, p.ErrorCode = -1, kerr.UnstableOffsetCommit.Code
			}
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp, nil
}

func (s *Server) fetchOffsets(groupID string, tps []group.TopicPartition) ([]group.FetchedOffset, error) {
	coord, err := s.groupsOrErr()
	if err != nil {
		return nil, err
	}
	return coord.FetchOffsets(groupID, tps)
}

// groupByTopic splits offsets into runs of one topic, keeping their order.
func groupByTopic(offs []group.FetchedOffset) [][]group.FetchedOffset {
	var out [][]group.FetchedOffset
	at := map[string]int{}
	for _, o := range offs {
		i, ok := at[o.Topic]
		if !ok {
			i = len(out)
			at[o.Topic] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], o)
	}
	return out
}
