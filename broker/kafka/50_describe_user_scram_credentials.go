package kafka

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// handleDescribeUserSCRAMCredentials lists users' mechanisms and iteration
// counts (never salts or keys). No users named: every user.
func (s *Server) handleDescribeUserSCRAMCredentials(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.DescribeUserSCRAMCredentialsRequest)
	if !ok {
		return nil, fmt.Errorf("%w: describe user scram credentials handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.DescribeUserSCRAMCredentialsResponse)
	snap := s.meta.Snapshot()
	names := snap.ScramUserNames()
	if req.Users != nil {
		names = names[:0:0]
		seen := map[string]int{}
		for _, u := range req.Users {
			seen[u.Name]++
			if seen[u.Name] == 1 {
				names = append(names, u.Name)
			}
		}
		for name, n := range seen {
			if n > 1 {
				res := kmsg.NewDescribeUserSCRAMCredentialsResponseResult()
				res.User, res.ErrorCode = name, kerr.DuplicateResource.Code
				resp.Results = append(resp.Results, res)
				names = removeString(names, name)
			}
		}
	}
	for _, name := range names {
		res := kmsg.NewDescribeUserSCRAMCredentialsResponseResult()
		res.User = name
		creds := snap.ScramUsers[name]
		if len(creds) == 0 {
			res.ErrorCode = kerr.ResourceNotFound.Code
			msg := "attempt to describe a user credential that does not exist"
			res.ErrorMessage = &msg
		}
		for _, m := range []int8{1, 2} {
			for mech, c := range creds {
				if int8(mech) == m {
					info := kmsg.NewDescribeUserSCRAMCredentialsResponseResultCredentialInfo()
					info.Mechanism, info.Iterations = m, c.Iterations
					res.CredentialInfos = append(res.CredentialInfos, info)
				}
			}
		}
		resp.Results = append(resp.Results, res)
	}
	return resp, nil
}

func removeString(list []string, s string) []string {
	out := list[:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}
