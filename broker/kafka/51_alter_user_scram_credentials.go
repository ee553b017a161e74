package kafka

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/auth"
	"github.com/tributary-io/tributary/broker/cluster"
)

// handleAlterUserSCRAMCredentials stores and deletes SCRAM credentials. The
// client sends the salted password, never the password; the broker keeps only
// the derived stored and server keys. One result per user: a user named twice
// for the same mechanism is DUPLICATE_RESOURCE, and a user's first failure is
// its result.
func (s *Server) handleAlterUserSCRAMCredentials(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.AlterUserSCRAMCredentialsRequest)
	if !ok {
		return nil, fmt.Errorf("%w: alter user scram credentials handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.AlterUserSCRAMCredentialsResponse)
	type key struct {
		user string
		mech int8
	}
	count := map[key]int{}
	var order []string
	results := map[string]*kmsg.AlterUserSCRAMCredentialsResponseResult{}
	result := func(user string) *kmsg.AlterUserSCRAMCredentialsResponseResult {
		if res, ok := results[user]; ok {
			return res
		}
		res := kmsg.NewAlterUserSCRAMCredentialsResponseResult()
		res.User = user
		results[user] = &res
		order = append(order, user)
		return &res
	}
	fail := func(user string, code int16, err error) {
		if res := result(user); res.ErrorCode == 0 {
			res.ErrorCode, res.ErrorMessage = code, errorMessage(err)
		}
	}
	for _, d := range req.Deletions {
		count[key{d.Name, d.Mechanism}]++
	}
	for _, u := range req.Upsertions {
		count[key{u.Name, u.Mechanism}]++
	}
	for _, d := range req.Deletions {
		result(d.Name)
		switch m := auth.ScramMechanism(d.Mechanism); {
		case d.Name == "":
			fail(d.Name, kerr.UnacceptableCredential.Code, errors.New("empty user name"))
		case count[key{d.Name, d.Mechanism}] > 1:
			fail(d.Name, kerr.DuplicateResource.Code, errors.New("user and mechanism named more than once"))
		case !m.Valid():
			fail(d.Name, kerr.UnsupportedSaslMechanism.Code, fmt.Errorf("unknown SCRAM mechanism %d", d.Mechanism))
		default:
			if err := s.meta.DeleteScramCredential(d.Name, m); err != nil {
				code := errorCode(err)
				if errors.Is(err, cluster.ErrUnknownCredential) {
					code = kerr.ResourceNotFound.Code
				}
				fail(d.Name, code, err)
			}
		}
	}
	for _, u := range req.Upsertions {
		result(u.Name)
		m := auth.ScramMechanism(u.Mechanism)
		switch {
		case u.Name == "":
			fail(u.Name, kerr.UnacceptableCredential.Code, errors.New("empty user name"))
			continue
		case count[key{u.Name, u.Mechanism}] > 1:
			fail(u.Name, kerr.DuplicateResource.Code, errors.New("user and mechanism named more than once"))
			continue
		case !m.Valid():
			fail(u.Name, kerr.UnsupportedSaslMechanism.Code, fmt.Errorf("unknown SCRAM mechanism %d", u.Mechanism))
			continue
		}
		cred, err := auth.NewCredential(m, u.Salt, u.SaltedPassword, u.Iterations)
		if err != nil {
			fail(u.Name, kerr.UnacceptableCredential.Code, err)
			continue
		}
		if err := s.meta.UpsertScramCredential(u.Name, cred); err != nil {
			fail(u.Name, errorCode(err), err)
		}
	}
	for _, user := range order {
		resp.Results = append(resp.Results, *results[user])
	}
	if len(order) > 0 {
		s.logger.Info("scram credentials altered", "users", order, "by", r.Conn.principalName())
	}
	return resp, nil
}
