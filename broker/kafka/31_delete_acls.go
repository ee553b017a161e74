package kafka

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/auth"
)

// handleDeleteACLs removes, per filter, every binding it selects, in one
// metadata command, and lists what each filter removed.
func (s *Server) handleDeleteACLs(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.DeleteACLsRequest)
	if !ok {
		return nil, fmt.Errorf("%w: delete acls handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.DeleteACLsResponse)
	resp.Results = make([]kmsg.DeleteACLsResponseResult, len(req.Filters))
	var filters []auth.ACLFilter
	var at []int
	for i, f := range req.Filters {
		resp.Results[i] = kmsg.NewDeleteACLsResponseResult()
		af := auth.ACLFilter{
			ResourceType: f.ResourceType, ResourceName: f.ResourceName, PatternType: f.ResourcePatternType,
			Principal: f.Principal, Host: f.Host, Operation: f.Operation, Permission: f.PermissionType,
		}
		if r.Version == 0 {
			af.PatternType = kmsg.ACLResourcePatternTypeLiteral
		}
		if err := af.Validate(); err != nil {
			resp.Results[i].ErrorCode, resp.Results[i].ErrorMessage = kerr.InvalidRequest.Code, errorMessage(err)
			continue
		}
		filters, at = append(filters, af), append(at, i)
	}
	if len(filters) == 0 {
		return resp, nil
	}
	removed, err := s.meta.DeleteACLs(filters)
	if err != nil {
		for _, i := range at {
			resp.Results[i].ErrorCode, resp.Results[i].ErrorMessage = errorCode(err), errorMessage(err)
		}
		return resp, nil
	}
	n := 0
	for j, i := range at {
		for _, a := range removed[j] {
			m := kmsg.NewDeleteACLsResponseResultMatchingACL()
			m.ResourceType, m.ResourceName, m.ResourcePatternType = a.ResourceType, a.ResourceName, a.PatternType
			m.Principal, m.Host, m.Operation, m.PermissionType = a.Principal, a.Host, a.Operation, a.Permission
			resp.Results[i].MatchingACLs = append(resp.Results[i].MatchingACLs, m)
			n++
		}
	}
	if n > 0 {
		s.logger.Info("acls deleted", "count", n, "by", r.Conn.principalName())
	}
	return resp, nil
}
