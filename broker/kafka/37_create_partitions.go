package kafka

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// handleCreatePartitions raises each topic's partition count to the requested
// total, placing new replicas round-robin or as the request assigns them.
// validate-only checks without changing. Internal topics are refused: their
// partition count decides which partition holds a group's or transaction's state.
func (s *Server) handleCreatePartitions(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.CreatePartitionsRequest)
	if !ok {
		return nil, fmt.Errorf("%w: create partitions handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	dups := duplicates(len(req.Topics), func(i int) string { return req.Topics[i].Topic })
	for i := range req.Topics {
		rt := &req.Topics[i]
		st := kmsg.NewCreatePartitionsResponseTopic()
		st.Topic = rt.Topic
		var err error
		if dups[rt.Topic] {
			err = fmt.Errorf("topic %s is named more than once in the request: %w", rt.Topic, kerr.InvalidRequest)
		} else {
			var assignment [][]int32
			for _, a := range rt.Assignment {
				assignment = append(assignment, a.Replicas)
			}
			err = s.meta.AddPartitions(rt.Topic, rt.Count, assignment, req.ValidateOnly)
			if err == nil && !req.ValidateOnly {
				s.logger.Info("added partitions", "topic", rt.Topic, "partitions", rt.Count, "client", r.ClientID)
			}
		}
		st.ErrorCode = errorCode(err)
		st.ErrorMessage = errorMessage(err)
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}
