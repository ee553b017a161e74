package kafka

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// deleteToHighWatermark is the DeleteRecords offset meaning "everything committed".
const deleteToHighWatermark = -1

// handleDeleteRecords moves each partition's log start offset forward to the given
// offset (-1: the high watermark), making earlier records unreadable and freeing
// whole segments below it, and answers the new low watermark. An offset above the
// high watermark is OFFSET_OUT_OF_RANGE; a topic whose cleanup.policy lacks
// "delete" is POLICY_VIOLATION, as in Kafka.
func (s *Server) handleDeleteRecords(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.DeleteRecordsRequest)
	if !ok {
		return nil, fmt.Errorf("%w: delete records handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.DeleteRecordsResponse)
	for i := range req.Topics {
		rt := &req.Topics[i]
		st := kmsg.NewDeleteRecordsResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewDeleteRecordsResponseTopicPartition()
			sp.Partition = rp.Partition
			low, err := s.deleteRecords(rt.Topic, rp.Partition, rp.Offset)
			if err != nil {
				// -1 is Kafka's "no low watermark" in an error answer.
				low = -1
			}
			sp.LowWatermark, sp.ErrorCode = low, errorCode(err)
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

func (s *Server) deleteRecords(topic string, partition int32, offset int64) (int64, error) {
	p, err := s.parts.Partition(topic, partition)
	if err != nil {
		return 0, err
	}
	l := p.Log()
	if !l.Config().Delete() {
		return 0, fmt.Errorf("records of %s/%d cannot be deleted: cleanup.policy is %q: %w",
			topic, partition, l.Config().CleanupPolicy, kerr.PolicyViolation)
	}
	hw := p.HighWatermark()
	if offset == deleteToHighWatermark {
		offset = hw
	}
	if offset < 0 || offset > hw {
		return 0, fmt.Errorf("delete records of %s/%d before %d: the high watermark is %d: %w",
			topic, partition, offset, hw, kerr.OffsetOutOfRange)
	}
	// Deleting below the current start is allowed and changes nothing.
	if offset > l.StartOffset() {
		if err := l.AdvanceStartOffset(offset); err != nil {
			return 0, fmt.Errorf("delete records of %s/%d before %d: %w", topic, partition, offset, err)
		}
	}
	return l.StartOffset(), nil
}
