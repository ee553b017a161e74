package kafka

import (
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// groupTypeClassic is the type of every group this broker serves (ListGroups v5):
// the classic protocol, not KIP-848's "consumer".
const groupTypeClassic = "classic"

// handleListGroups lists the groups this coordinator serves, filtered by state
// (v4+) and type (v5+).
func (s *Server) handleListGroups(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.ListGroupsRequest)
	if !ok {
		return nil, fmt.Errorf("%w: list groups handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
	coord, err := s.groupsOrErr()
	if err != nil {
		resp.ErrorCode = errorCode(err)
		return resp, nil
	}
	list, err := coord.ListGroups()
	resp.ErrorCode = errorCode(err)
	for _, l := range list {
		if len(req.StatesFilter) > 0 && !containsFold(req.StatesFilter, l.State.String()) {
			continue
		}
		if len(req.TypesFilter) > 0 && !containsFold(req.TypesFilter, groupTypeClassic) {
			continue
		}
		g := kmsg.NewListGroupsResponseGroup()
		g.Group = l.Group
		g.ProtocolType = l.ProtocolType
		g.GroupState = l.State.String()
		g.GroupType = groupTypeClassic
		resp.Groups = append(resp.Groups, g)
	}
	return resp, nil
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
