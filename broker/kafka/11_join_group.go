package kafka

import (
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/group"
)

// handleJoinGroup joins a member to a group. The answer is held until the
// rebalance completes (every member rejoined, or the rebalance timeout passed).
func (s *Server) handleJoinGroup(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.JoinGroupRequest)
	if !ok {
		return nil, fmt.Errorf("%w: join group handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
	coord, err := s.groupsOrErr()
	if err != nil {
		resp.ErrorCode, resp.Generation = errorCode(err), -1
		return resp, nil
	}
	jr := group.JoinRequest{
		MemberID:         req.MemberID,
		InstanceID:       deref(req.InstanceID),
		ClientID:         r.ClientID,
		ClientHost:       clientHost(r.Conn),
		SessionTimeout:   time.Duration(req.SessionTimeoutMillis) * time.Millisecond,
		RebalanceTimeout: time.Duration(req.RebalanceTimeoutMillis) * time.Millisecond,
		ProtocolType:     req.ProtocolType,
		// KIP-394: from v4 a new dynamic member first learns its id.
		RequireKnownMemberID: r.Version >= 4 && req.InstanceID == nil,
	}
	if r.Version == 0 {
		// v0 has no rebalance timeout; Kafka uses the session timeout.
		jr.RebalanceTimeout = jr.SessionTimeout
	}
	for _, p := range req.Protocols {
		jr.Protocols = append(jr.Protocols, group.Protocol{Name: p.Name, Metadata: p.Metadata})
	}
	ctx, stop := s.closingContext()
	res := coord.JoinGroup(ctx, req.Group, jr)
	stop()

	resp.ErrorCode = errorCode(res.Err)
	resp.Generation = res.Generation
	resp.MemberID = res.MemberID
	if res.Err != nil {
		return resp, nil
	}
	resp.ProtocolType = strOrNil(res.ProtocolType)
	resp.Protocol = strOrNil(res.Protocol)
	resp.LeaderID = res.LeaderID
	members := res.Members
	if res.SkipAssignment {
		if r.Version >= 9 {
			resp.SkipAssignment = true
		} else {
			// Before KIP-814 a restarted static leader is told the old leader id, so
			// it does not assign while the group stays Stable.
			resp.LeaderID = res.OldLeaderID
			members = nil
		}
	}
	for _, m := range members {
		jm := kmsg.NewJoinGroupResponseMember()
		jm.MemberID = m.MemberID
		jm.InstanceID = strOrNil(m.InstanceID)
		jm.ProtocolMetadata = m.Metadata
		resp.Members = append(resp.Members, jm)
	}
	return resp, nil
}
