package kafka

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/group"
	"github.com/tributary-io/tributary/broker/txn"
)

// handleAddOffsetsToTxn adds the group's partition of __consumer_offsets to the
// transaction, so the commit or abort marker reaches the offsets the producer
// then commits with TxnOffsetCommit.
func (s *Server) handleAddOffsetsToTxn(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.AddOffsetsToTxnRequest)
	if !ok {
		return nil, fmt.Errorf("%w: add offsets to txn handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
	err := s.addOffsetsToTxn(req)
	resp.ErrorCode = txnErrorCode(err, r.Version >= 2)
	return resp, nil
}

func (s *Server) addOffsetsToTxn(req *kmsg.AddOffsetsToTxnRequest) error {
	if req.Group == "" {
		return group.ErrInvalidGroupID
	}
	c, err := s.txnsOrErr()
	if err != nil {
		return err
	}
	t, ok := s.meta.Snapshot().Topic(group.OffsetsTopic)
	if !ok || len(t.Partitions) == 0 {
		return fmt.Errorf("%s does not exist yet: %w", group.OffsetsTopic, group.ErrCoordinatorNotAvailable)
	}
	tp := txn.TopicPartition{Topic: group.OffsetsTopic, Partition: group.PartitionFor(req.Group, int32(len(t.Partitions)))}
	return c.AddPartitions(req.TransactionalID, req.ProducerID, req.ProducerEpoch, []txn.TopicPartition{tp})
}
