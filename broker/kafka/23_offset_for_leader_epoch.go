package kafka

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// handleOffsetForLeaderEpoch answers, per partition, the largest leader epoch
// at or below the requested one and the offset where it ended in this leader's
// log (KIP-101, KIP-279): a follower truncates its log there, and a consumer
// (KIP-320) checks that its position did not diverge after a leader change.
// Only the leader answers; a follower's own leader epoch must be current.
func (s *Server) handleOffsetForLeaderEpoch(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.OffsetForLeaderEpochRequest)
	if !ok {
		return nil, fmt.Errorf("%w: offset for leader epoch handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	resp.Topics = make([]kmsg.OffsetForLeaderEpochResponseTopic, len(req.Topics))
	for i := range req.Topics {
		rt := &req.Topics[i]
		st := &resp.Topics[i]
		st.Default()
		st.Topic = rt.Topic
		st.Partitions = make([]kmsg.OffsetForLeaderEpochResponseTopicPartition, len(rt.Partitions))
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			sp := &st.Partitions[j]
			sp.Default()
			sp.Partition = rp.Partition
			sp.LeaderEpoch, sp.EndOffset = -1, -1
			p, err := s.parts.Partition(rt.Topic, rp.Partition)
			if err == nil {
				err = s.checkLeader(p, rp.CurrentLeaderEpoch)
			}
			if err != nil {
				sp.ErrorCode = errorCode(err)
				continue
			}
			if rp.LeaderEpoch > p.LeaderEpoch() {
				sp.ErrorCode = kerr.UnknownLeaderEpoch.Code
				continue
			}
			sp.LeaderEpoch, sp.EndOffset = p.EndOffsetForEpoch(rp.LeaderEpoch)
		}
	}
	return resp, nil
}
