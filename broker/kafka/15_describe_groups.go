package kafka

import (
	"errors"
	"fmt"
	"math"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/group"
)

// groupOperations are the ACL operations a group supports (READ, DELETE, DESCRIBE)
// as a bit field; without authorization every client may do all of them.
const groupOperations = 1<<3 | 1<<6 | 1<<8

// handleDescribeGroups describes groups: state, protocol and members (with their
// metadata and assignments while Stable). A group that does not exist is "Dead";
// from v6 it also carries GROUP_ID_NOT_FOUND (KIP-1043).
func (s *Server) handleDescribeGroups(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.DescribeGroupsRequest)
	if !ok {
		return nil, fmt.Errorf("%w: describe groups handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	coord, cerr := s.groupsOrErr()
	for _, id := range req.Groups {
		g := kmsg.NewDescribeGroupsResponseGroup()
		g.Group = id
		g.AuthorizedOperations = math.MinInt32
		if req.IncludeAuthorizedOperations {
			g.AuthorizedOperations = groupOperations
		}
		d, err := group.Description{Group: id, State: group.Dead}, cerr
		if cerr == nil {
			d, err = coord.DescribeGroup(id)
		}
		if errors.Is(err, group.ErrGroupNotFound) && r.Version < 6 {
			err = nil
		}
		g.ErrorCode = errorCode(err)
		g.ErrorMessage = errorMessage(err)
		g.State = d.State.String()
		g.ProtocolType = d.ProtocolType
		g.Protocol = d.Protocol
		for _, m := range d.Members {
			gm := kmsg.NewDescribeGroupsResponseGroupMember()
			gm.MemberID = m.MemberID
			gm.InstanceID = strOrNil(m.InstanceID)
			gm.ClientID = m.ClientID
			gm.ClientHost = m.ClientHost
			gm.ProtocolMetadata = m.Metadata
			gm.MemberAssignment = m.Assignment
			g.Members = append(g.Members, gm)
		}
		resp.Groups = append(resp.Groups, g)
	}
	return resp, nil
}
