package kafka

import (
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// handleSASLAuthenticate passes one message of the exchange SaslHandshake
// started to its mechanism. When the exchange completes the connection acts as
// the authenticated principal; with connections.max.reauth.ms the answer
// carries the session lifetime (v1+) and the session ends then unless the
// client re-authenticates. A failure answers SASL_AUTHENTICATION_FAILED with a
// message that does not say what was wrong, and the connection's next request
// closes it.
func (s *Server) handleSASLAuthenticate(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.SASLAuthenticateRequest)
	if !ok {
		return nil, fmt.Errorf("%w: sasl authenticate handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
	sec := r.Conn.sec
	if sec == nil || sec.conv == nil {
		resp.ErrorCode = kerr.IllegalSaslState.Code
		msg := "SaslAuthenticate without a SaslHandshake"
		resp.ErrorMessage = &msg
		if sec != nil {
			sec.failed = true
		}
		return resp, nil
	}
	out, done, err := sec.conv.Step(req.SASLAuthBytes)
	if err != nil {
		sec.conv, sec.failed = nil, true
		s.logger.Info("sasl authentication failed", "conn", r.Conn.ID, "remote", r.Conn.RemoteAddr,
			"listener", sec.listener.Name, "mechanism", sec.mechanism, "err", err)
		resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
		msg := fmt.Sprintf("Authentication failed during authentication due to invalid credentials with SASL mechanism %s", sec.mechanism)
		resp.ErrorMessage = &msg
		return resp, nil
	}
	resp.SASLAuthBytes = out
	if !done {
		return resp, nil
	}
	p := sec.conv.Principal()
	sec.conv = nil
	if sec.authenticated && p != sec.principal {
		// Re-authentication must keep the identity (KIP-368).
		sec.failed = true
		s.logger.Info("sasl re-authentication changed principal", "conn", r.Conn.ID, "remote", r.Conn.RemoteAddr,
			"was", sec.principal.String(), "now", p.String())
		resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
		msg := "re-authentication must use the same principal"
		resp.ErrorMessage = &msg
		return resp, nil
	}
	sec.authenticated, sec.principal = true, p
	sec.expiry = time.Time{}
	if lifetime := s.cfg.Security.ReauthMax; lifetime > 0 {
		sec.expiry = s.cfg.Now().Add(lifetime)
		resp.SessionLifetimeMillis = lifetime.Milliseconds()
	}
	s.logger.Debug("sasl authenticated", "conn", r.Conn.ID, "remote", r.Conn.RemoteAddr, "principal", p.String(),
		"mechanism", sec.mechanism)
	return resp, nil
}
