package kafka

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/auth"
	"github.com/tributary-io/tributary/broker/cluster"
)

// SecurityProtocol is a listener's security.protocol.
type SecurityProtocol string

// The Kafka security protocols.
const (
	Plaintext     SecurityProtocol = "PLAINTEXT"
	SSL           SecurityProtocol = "SSL"
	SASLPlaintext SecurityProtocol = "SASL_PLAINTEXT"
	SASLSSL       SecurityProtocol = "SASL_SSL"
)

// ParseSecurityProtocol accepts the four Kafka names.
func ParseSecurityProtocol(s string) (SecurityProtocol, error) {
	switch p := SecurityProtocol(s); p {
	case Plaintext, SSL, SASLPlaintext, SASLSSL:
		return p, nil
	}
	return "", fmt.Errorf("security protocol %q: want PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL", s)
}

// TLS reports whether the protocol runs over TLS.
func (p SecurityProtocol) TLS() bool { return p == SSL || p == SASLSSL }

// SASL reports whether clients must authenticate with SASL first.
func (p SecurityProtocol) SASL() bool { return p == SASLPlaintext || p == SASLSSL }

// Listener is one listener's security, passed to ServeListener.
type Listener struct {
	// Name is the listener name (e.g. "SASL_SSL" or "EXTERNAL"), for logs.
	Name string
	// Protocol is the security protocol. Default PLAINTEXT.
	Protocol SecurityProtocol
	// TLS is the server TLS config; required for SSL and SASL_SSL.
	TLS *tls.Config
	// Advertised is what Metadata, FindCoordinator and DescribeCluster tell
	// clients of this listener about this node; zero: the registered address.
	Advertised cluster.Broker
}

// Security configures authentication and authorization for the whole server.
type Security struct {
	// SASLMechanisms are sasl.enabled.mechanisms. Default: all of them.
	SASLMechanisms []string
	// ReauthMax is connections.max.reauth.ms (KIP-368): a SASL session ends
	// this long after it authenticated unless the client re-authenticates; 0
	// keeps sessions for the connection's life.
	ReauthMax time.Duration
	// Authorizer checks every request against the metadata's ACLs; nil
	// authorizes everything (no authorizer configured).
	Authorizer *auth.Authorizer
}

// Errors that close a connection for security reasons.
var (
	// ErrAuthenticationRequired: a request other than ApiVersions and the SASL
	// ones before a SASL listener's client authenticated, or after it failed.
	ErrAuthenticationRequired = errors.New("kafka: request before sasl authentication")
	// ErrSessionExpired: the SASL session outlived connections.max.reauth.ms
	// without re-authentication (KIP-368).
	ErrSessionExpired = errors.New("kafka: sasl session expired")
)

// connSecurity is a connection's security state. Only the connection's reader
// goroutine touches it (requests of a connection are handled one at a time).
type connSecurity struct {
	listener *Listener
	// principal is who the connection acts as: ANONYMOUS, the client
	// certificate's subject, or the SASL user.
	principal auth.Principal
	// host is the client's IP, which ACLs may name.
	host string
	// authenticated: a SASL listener's client completed an exchange.
	authenticated bool
	// failed: an exchange failed; the next request closes the connection.
	failed bool
	// mechanism is the one chosen by SaslHandshake; conv its conversation.
	mechanism string
	conv      auth.Conversation
	// expiry ends the SASL session (zero: never).
	expiry time.Time
}

// ServeListener is Serve for a listener with a security protocol: TLS
// listeners handshake (with mTLS when configured) before the first request,
// SASL listeners require SaslHandshake and SaslAuthenticate before anything but
// ApiVersions.
func (s *Server) ServeListener(ln net.Listener, l Listener) error {
	if l.Protocol.SASL() && s.saslErr != nil {
		ln.Close()
		return fmt.Errorf("listener %s: %w", l.Name, s.saslErr)
	}
	if l.Protocol == "" {
		l.Protocol = Plaintext
	}
	if l.Protocol.TLS() && l.TLS == nil {
		ln.Close()
		return fmt.Errorf("listener %s (%s): no TLS config", l.Name, l.Protocol)
	}
	return s.serve(ln, &l)
}

// newConnSecurity returns the security state of a new connection, or nil on a
// plaintext listener without an authorizer (nothing to check: the fast path).
func (s *Server) newConnSecurity(l *Listener, remote string) *connSecurity {
	if l == nil || (l.Protocol == Plaintext && s.cfg.Security.Authorizer == nil && l.Advertised.Host == "") {
		return nil
	}
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	return &connSecurity{listener: l, principal: auth.Anonymous, host: host}
}

// tlsHandshakeTimeout bounds a TLS handshake, so a silent client cannot hold a
// connection goroutine for the whole idle timeout.
const tlsHandshakeTimeout = 10 * time.Second

// handshake wraps a TLS listener's connection and completes the handshake;
// on SSL listeners a verified client certificate names the principal. A
// failure (plaintext bytes, an expired or unknown certificate) is returned and
// the caller closes the connection.
func (c *conn) handshake() error {
	sec := c.info.sec
	if sec == nil || !sec.listener.Protocol.TLS() {
		return nil
	}
	tc := tls.Server(c.nc, sec.listener.TLS)
	c.nc = tc
	if err := tc.SetDeadline(time.Now().Add(tlsHandshakeTimeout)); err != nil {
		return err
	}
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("tls handshake: %w", err)
	}
	if err := tc.SetDeadline(time.Time{}); err != nil {
		return err
	}
	if sec.listener.Protocol == SSL {
		if p, ok := auth.CertPrincipal(tc.ConnectionState()); ok {
			sec.principal = p
		}
	}
	return nil
}

// saslExempt are the APIs a SASL client may send before authenticating.
func saslExempt(key int16) bool {
	return key == apiVersionsKey || key == saslHandshakeKey || key == saslAuthenticateKey
}

// serveSecured runs a request through authentication state, authorization and
// the handler.
func (s *Server) serveSecured(d decoded) (kmsg.Response, error) {
	sec := d.req.Conn.sec
	if sec == nil {
		return d.api.Serve(s, d.req)
	}
	key := d.req.Key
	if sec.failed && key != apiVersionsKey {
		return nil, fmt.Errorf("%w: %s after a failed authentication", ErrAuthenticationRequired, kmsg.NameForKey(key))
	}
	if sec.listener.Protocol.SASL() && !saslExempt(key) {
		if !sec.authenticated {
			return nil, fmt.Errorf("%w: %s", ErrAuthenticationRequired, kmsg.NameForKey(key))
		}
		if !sec.expiry.IsZero() && s.cfg.Now().After(sec.expiry) {
			return nil, fmt.Errorf("%w: %s as %s", ErrSessionExpired, kmsg.NameForKey(key), sec.principal)
		}
	}
	var resp kmsg.Response
	var err error
	if s.cfg.Security.Authorizer == nil || saslExempt(key) {
		resp, err = d.api.Serve(s, d.req)
	} else {
		resp, err = s.authorize(d, sec)
	}
	if err == nil && resp != nil && (sec.listener.Advertised.Host != "" || sec.listener.Name != "") {
		s.advertise(resp, *sec.listener)
	}
	return resp, err
}

// advertise gives clients the addresses of the listener they came in on: this
// node's from the listener's Advertised address, the other brokers' from the
// endpoint of the same name they registered in the metadata (as Kafka does), so
// a client of the SASL_SSL listeners is never sent to a PLAINTEXT one.
func (s *Server) advertise(resp kmsg.Response, l Listener) {
	addr := s.listenerAddrs(l)
	fix := func(id int32, host *string, port *int32) {
		if a, ok := addr(id); ok {
			*host, *port = a.Host, a.Port
		}
	}
	switch r := resp.(type) {
	case *kmsg.MetadataResponse:
		for i := range r.Brokers {
			fix(r.Brokers[i].NodeID, &r.Brokers[i].Host, &r.Brokers[i].Port)
		}
	case *kmsg.FindCoordinatorResponse:
		if r.NodeID >= 0 {
			fix(r.NodeID, &r.Host, &r.Port)
		}
		for i := range r.Coordinators {
			fix(r.Coordinators[i].NodeID, &r.Coordinators[i].Host, &r.Coordinators[i].Port)
		}
	case *kmsg.DescribeClusterResponse:
		for i := range r.Brokers {
			fix(r.Brokers[i].NodeID, &r.Brokers[i].Host, &r.Brokers[i].Port)
		}
	}
}

// listenerAddrs returns a lookup of broker id → the address clients of l
// should use; ok is false where the answer's address stays as it is.
func (s *Server) listenerAddrs(l Listener) func(id int32) (cluster.Endpoint, bool) {
	var brokers []cluster.Broker
	return func(id int32) (cluster.Endpoint, bool) {
		if id == s.cfg.NodeID {
			if l.Advertised.Host == "" {
				return cluster.Endpoint{}, false
			}
			return cluster.Endpoint{Host: l.Advertised.Host, Port: l.Advertised.Port}, true
		}
		if l.Name == "" {
			return cluster.Endpoint{}, false
		}
		if brokers == nil {
			brokers = s.meta.Snapshot().Brokers
		}
		for _, b := range brokers {
			if b.ID != id {
				continue
			}
			for _, e := range b.Listeners {
				if e.Name == l.Name {
					return e, true
				}
			}
		}
		return cluster.Endpoint{}, false
	}
}

// isSecurityClose reports connection closes caused by authentication state.
func isSecurityClose(err error) bool {
	return errors.Is(err, ErrAuthenticationRequired) || errors.Is(err, ErrSessionExpired)
}
