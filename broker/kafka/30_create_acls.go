package kafka

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/auth"
)

// handleCreateACLs stores the valid bindings in one metadata command; each
// invalid one answers INVALID_REQUEST with the reason.
func (s *Server) handleCreateACLs(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.CreateACLsRequest)
	if !ok {
		return nil, fmt.Errorf("%w: create acls handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.CreateACLsResponse)
	resp.Results = make([]kmsg.CreateACLsResponseResult, len(req.Creations))
	var valid []auth.ACL
	var at []int
	for i, c := range req.Creations {
		resp.Results[i] = kmsg.NewCreateACLsResponseResult()
		a := auth.ACL{
			ResourceType: c.ResourceType, ResourceName: c.ResourceName, PatternType: c.ResourcePatternType,
			Principal: c.Principal, Host: c.Host, Operation: c.Operation, Permission: c.PermissionType,
		}
		if r.Version == 0 {
			a.PatternType = kmsg.ACLResourcePatternTypeLiteral
		}
		if err := a.Validate(); err != nil {
			resp.Results[i].ErrorCode, resp.Results[i].ErrorMessage = kerr.InvalidRequest.Code, errorMessage(err)
			continue
		}
		valid, at = append(valid, a), append(at, i)
	}
	if len(valid) == 0 {
		return resp, nil
	}
	if err := s.meta.CreateACLs(valid); err != nil {
		for _, i := range at {
			resp.Results[i].ErrorCode, resp.Results[i].ErrorMessage = errorCode(err), errorMessage(err)
		}
		return resp, nil
	}
	s.logger.Info("acls created", "count", len(valid), "by", r.Conn.principalName())
	return resp, nil
}

// principalName is the connection's principal for logs ("" without security).
func (c *ConnInfo) principalName() string {
	if c.sec == nil {
		return auth.Anonymous.String()
	}
	return c.sec.principal.String()
}
