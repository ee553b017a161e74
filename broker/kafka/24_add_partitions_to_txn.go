package kafka

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/cluster"
	"github.com/tributary-io/tributary/broker/txn"
)

// handleAddPartitionsToTxn records the partitions a transactional producer is
// about to write to (v0-3, the client form; v4+ is broker-to-broker and not
// served). Partitions that do not exist get UNKNOWN_TOPIC_OR_PARTITION and the
// others OPERATION_NOT_ATTEMPTED, as Kafka answers; otherwise every partition
// gets the coordinator's answer.
func (s *Server) handleAddPartitionsToTxn(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.AddPartitionsToTxnRequest)
	if !ok {
		return nil, fmt.Errorf("%w: add partitions to txn handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
	snap := s.meta.Snapshot()
	var parts []txn.TopicPartition
	unknown := map[txn.TopicPartition]bool{}
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			tp := txn.TopicPartition{Topic: t.Topic, Partition: p}
			if !partitionExists(snap, t.Topic, p) {
				unknown[tp] = true
			}
			parts = append(parts, tp)
		}
	}
	var err error
	if len(unknown) == 0 {
		var c *txn.Coordinator
		if c, err = s.txnsOrErr(); err == nil {
			err = c.AddPartitions(req.TransactionalID, req.ProducerID, req.ProducerEpoch, parts)
		}
	}
	code := txnErrorCode(err, r.Version >= 2)
	for _, t := range req.Topics {
		rt := kmsg.NewAddPartitionsToTxnResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
			rp.Partition = p
			switch {
			case len(unknown) == 0:
				rp.ErrorCode = code
			case unknown[txn.TopicPartition{Topic: t.Topic, Partition: p}]:
				rp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			default:
				rp.ErrorCode = kerr.OperationNotAttempted.Code
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

// partitionExists reports whether the metadata has topic/partition.
func partitionExists(snap *cluster.Snapshot, topic string, partition int32) bool {
	t, ok := snap.Topic(topic)
	return ok && partition >= 0 && int(partition) < len(t.Partitions)
}
