package kafka

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// handleDeleteGroups deletes Empty groups and their offsets; active groups get
// NON_EMPTY_GROUP, unknown ones GROUP_ID_NOT_FOUND.
func (s *Server) handleDeleteGroups(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.DeleteGroupsRequest)
	if !ok {
		return nil, fmt.Errorf("%w: delete groups handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
	errs := make([]error, len(req.Groups))
	if coord, err := s.groupsOrErr(); err != nil {
		for i := range errs {
			errs[i] = err
		}
	} else {
		errs = coord.DeleteGroups(req.Groups)
	}
	for i, id := range req.Groups {
		g := kmsg.NewDeleteGroupsResponseGroup()
		g.Group = id
		g.ErrorCode = errorCode(errs[i])
		resp.Groups = append(resp.Groups, g)
	}
	return resp, nil
}
