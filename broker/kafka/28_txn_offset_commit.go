package kafka

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/group"
)

// handleTxnOffsetCommit stores a transactional producer's offsets for a group;
// they become the group's committed offsets when the transaction commits
// (broker/group txn.go). v3+ carries the consumer's member id and generation
// (KIP-447), which must be the group's current ones.
func (s *Server) handleTxnOffsetCommit(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.TxnOffsetCommitRequest)
	if !ok {
		return nil, fmt.Errorf("%w: txn offset commit handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
	creq := group.TxnCommitRequest{ProducerID: req.ProducerID, ProducerEpoch: req.ProducerEpoch, Generation: -1}
	if r.Version >= 3 {
		creq.MemberID, creq.InstanceID, creq.Generation = req.MemberID, deref(req.InstanceID), req.Generation
	}
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			creq.Offsets = append(creq.Offsets, group.OffsetCommit{
				TopicPartition: group.TopicPartition{Topic: t.Topic, Partition: p.Partition},
				Offset:         p.Offset,
				LeaderEpoch:    p.LeaderEpoch,
				Metadata:       deref(p.Metadata),
			})
		}
	}
	var errs []error
	if c, err := s.groupsOrErr(); err != nil {
		errs = make([]error, len(creq.Offsets))
		for i := range errs {
			errs[i] = err
		}
	} else {
		errs = c.TxnCommitOffsets(req.Group, creq)
	}
	i := 0
	for _, t := range req.Topics {
		rt := kmsg.NewTxnOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
			rp.Partition = p.Partition
			rp.ErrorCode = txnErrorCode(errs[i], r.Version >= 3)
			i++
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}
