package kafka

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// handleHeartbeat keeps a member's session alive; REBALANCE_IN_PROGRESS tells it
// to rejoin.
func (s *Server) handleHeartbeat(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.HeartbeatRequest)
	if !ok {
		return nil, fmt.Errorf("%w: heartbeat handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	coord, err := s.groupsOrErr()
	if err == nil {
		err = coord.Heartbeat(req.Group, req.MemberID, deref(req.InstanceID), req.Generation)
	}
	resp.ErrorCode = errorCode(err)
	return resp, nil
}
