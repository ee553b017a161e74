package kafka

import (
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/auth"
)

// API keys of the SASL exchange.
const (
	saslHandshakeKey    = 17
	saslAuthenticateKey = 36
)

// metaCredentials reads SCRAM credentials from the current metadata, so a
// credential change applies to the next exchange without a restart.
type metaCredentials struct{ s *Server }

func (m metaCredentials) ScramCredential(user string, mech auth.ScramMechanism) (auth.Credential, bool) {
	return m.s.meta.Snapshot().ScramCredential(user, mech)
}

// initSecurity prepares the SASL mechanisms (NewServer calls it).
func (s *Server) initSecurity() error {
	s.authz = authzSteps()
	m, err := auth.NewMechanisms(auth.Mechanisms{
		Enabled: s.cfg.Security.SASLMechanisms,
		Store:   metaCredentials{s},
	})
	if err != nil {
		return fmt.Errorf("sasl: %w", err)
	}
	s.sasl = m
	return nil
}

// handleSASLHandshake picks the mechanism of the next SaslAuthenticate exchange
// (v1: the exchange then runs in SaslAuthenticate requests; a v0 handshake,
// which would continue in raw frames, answers ILLEGAL_SASL_STATE). A second handshake on an authenticated connection starts a
// re-authentication (KIP-368) and must keep the mechanism.
func (s *Server) handleSASLHandshake(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.SASLHandshakeRequest)
	if !ok {
		return nil, fmt.Errorf("%w: sasl handshake handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.SASLHandshakeResponse)
	resp.SupportedMechanisms = slices.Clone(s.sasl.Enabled)
	sec := r.Conn.sec
	switch {
	case r.Version == 0:
		// v0 continues with raw SASL frames instead of SaslAuthenticate,
		// which this server does not read.
		resp.ErrorCode = kerr.IllegalSaslState.Code
		return resp, nil
	case sec == nil || !sec.listener.Protocol.SASL():
		resp.ErrorCode = kerr.IllegalSaslState.Code
		return resp, nil
	case sec.authenticated && req.Mechanism != sec.mechanism:
		// Kafka refuses switching mechanisms on re-authentication.
		resp.ErrorCode = kerr.IllegalSaslState.Code
		return resp, nil
	}
	conv, err := s.sasl.Start(req.Mechanism)
	if err != nil {
		resp.ErrorCode = kerr.UnsupportedSaslMechanism.Code
		return resp, nil
	}
	sec.mechanism, sec.conv = req.Mechanism, conv
	return resp, nil
}
