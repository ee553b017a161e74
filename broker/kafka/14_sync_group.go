package kafka

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/group"
)

// handleSyncGroup returns a member's assignment. Followers wait until the leader
// has sent the plan for the generation.
func (s *Server) handleSyncGroup(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.SyncGroupRequest)
	if !ok {
		return nil, fmt.Errorf("%w: sync group handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
	coord, err := s.groupsOrErr()
	if err != nil {
		resp.ErrorCode = errorCode(err)
		return resp, nil
	}
	sr := group.SyncRequest{
		MemberID:     req.MemberID,
		InstanceID:   deref(req.InstanceID),
		Generation:   req.Generation,
		ProtocolType: deref(req.ProtocolType),
		Protocol:     deref(req.Protocol),
	}
	if len(req.GroupAssignment) > 0 {
		sr.Assignments = make(map[string][]byte, len(req.GroupAssignment))
		for _, a := range req.GroupAssignment {
			sr.Assignments[a.MemberID] = a.MemberAssignment
		}
	}
	ctx, stop := s.closingContext()
	res := coord.SyncGroup(ctx, req.Group, sr)
	stop()
	resp.ErrorCode = errorCode(res.Err)
	if res.Err == nil {
		resp.ProtocolType = strOrNil(res.ProtocolType)
		resp.Protocol = strOrNil(res.Protocol)
		resp.MemberAssignment = res.Assignment
	}
	return resp, nil
}
