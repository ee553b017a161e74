package kafka

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/group"
)

// handleLeaveGroup removes members from a group, which then rebalances. v3+ names
// several members (and static members by instance id alone).
func (s *Server) handleLeaveGroup(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.LeaveGroupRequest)
	if !ok {
		return nil, fmt.Errorf("%w: leave group handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	var members []group.LeaveMember
	if r.Version < 3 {
		members = []group.LeaveMember{{MemberID: req.MemberID}}
	} else {
		for _, m := range req.Members {
			members = append(members, group.LeaveMember{MemberID: m.MemberID, InstanceID: deref(m.InstanceID)})
		}
	}
	coord, err := s.groupsOrErr()
	var errs []error
	if err == nil {
		errs, err = coord.LeaveGroup(req.Group, members)
	}
	if err != nil {
		resp.ErrorCode = errorCode(err)
		return resp, nil
	}
	if r.Version < 3 {
		resp.ErrorCode = errorCode(errs[0])
		return resp, nil
	}
	for i, m := range req.Members {
		rm := kmsg.NewLeaveGroupResponseMember()
		rm.MemberID, rm.InstanceID = m.MemberID, m.InstanceID
		rm.ErrorCode = errorCode(errs[i])
		resp.Members = append(resp.Members, rm)
	}
	return resp, nil
}
