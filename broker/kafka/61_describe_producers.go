package kafka

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/replication"
	"github.com/tributary-io/tributary/broker/txn"
)

// handleDescribeProducers lists the producers a partition holds state for: id,
// epoch, last sequence, when it last wrote, and the first offset of its open
// transaction (-1 when none).
func (s *Server) handleDescribeProducers(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.DescribeProducersRequest)
	if !ok {
		return nil, fmt.Errorf("%w: describe producers handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.DescribeProducersResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewDescribeProducersResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewDescribeProducersResponseTopicPartition()
			rp.Partition = p
			producers, err := s.partitionProducers(t.Topic, p)
			if err != nil {
				rp.ErrorCode = errorCode(err)
				rp.ErrorMessage = errorMessage(err)
			}
			for _, pr := range producers {
				ap := kmsg.NewDescribeProducersResponseTopicPartitionActiveProducer()
				ap.ProducerID = pr.ID
				ap.ProducerEpoch = int32(pr.Epoch)
				ap.LastSequence = pr.LastSeq()
				ap.LastTimestamp = pr.LastTimestamp
				ap.CoordinatorEpoch = pr.CoordinatorEpoch
				ap.CurrentTxnStartOffset = pr.TxnFirstOffset
				rp.ActiveProducers = append(rp.ActiveProducers, ap)
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

// partitionProducers returns the producer state of a partition this node leads.
func (s *Server) partitionProducers(topic string, partition int32) ([]txn.Producer, error) {
	p, err := s.parts.Partition(topic, partition)
	if err != nil {
		return nil, err
	}
	if err := s.checkLeader(p, -1); err != nil {
		return nil, err
	}
	return producersOf(p), nil
}

// producersOf reads the producer state of p; none when the broker runs
// without producer state.
func producersOf(p *replication.Partition) []txn.Producer {
	if st, ok := p.ProducerState().(*txn.PartitionState); ok {
		return st.Producers()
	}
	return nil
}

// abortedOf returns the aborted transactions of p overlapping [from, upTo).
func abortedOf(p *replication.Partition, from, upTo int64) []kmsg.FetchResponseTopicPartitionAbortedTransaction {
	st, ok := p.ProducerState().(*txn.PartitionState)
	if !ok {
		return nil
	}
	var out []kmsg.FetchResponseTopicPartitionAbortedTransaction
	for _, a := range st.AbortedTransactions(from, upTo) {
		at := kmsg.NewFetchResponseTopicPartitionAbortedTransaction()
		at.ProducerID, at.FirstOffset = a.ProducerID, a.FirstOffset
		out = append(out, at)
	}
	return out
}
