package replication

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"

	"github.com/tributary-io/tributary/broker/cluster"
)

// Inter-broker connections: replica fetchers and PeerConn dial a peer's
// inter-broker listener (inter.broker.listener.name) as the peer registered
// it in the metadata, do TLS when its protocol needs it, then SaslHandshake
// and SaslAuthenticate (non-flexible versions, the only ones wireConn
// speaks) before any other request. Without a PeerDialer, or for a peer on a
// PLAINTEXT listener, the connection is plain TCP and nothing else changes.

// The security protocols as the metadata names them (broker/kafka owns the
// type; this package must not import it).
const (
	protoPlaintext     = "PLAINTEXT"
	protoSSL           = "SSL"
	protoSASLPlaintext = "SASL_PLAINTEXT"
	protoSASLSSL       = "SASL_SSL"
)

// ErrPeerAuthentication: a peer refused this broker's TLS handshake or SASL
// credentials, or offered no usable mechanism. Retrying does not help until
// the configuration or the credentials change.
var ErrPeerAuthentication = errors.New("replication: inter-broker authentication failed")

// PeerDialerConfig says how this broker connects to the other brokers.
type PeerDialerConfig struct {
	// Listener is inter.broker.listener.name: the name of the peer listener
	// to dial. Empty: the address each peer registered first, in plaintext.
	Listener string
	// Protocol is the security protocol of Listener in this node's config.
	// A peer's registered endpoint carries its own protocol; this one applies
	// to peers whose record has no listeners (registered by an older
	// version), whose first address is dialed with it. Default PLAINTEXT.
	Protocol string
	// TLS is the client TLS config for SSL and SASL_SSL peers: the CAs that
	// sign peer certificates and, for mTLS, this node's certificate.
	// ServerName defaults to the peer's host. Required for TLS peers.
	TLS *tls.Config
	// SASL authenticates to SASL_PLAINTEXT and SASL_SSL peers
	// (sasl.mechanism.inter.broker.protocol with this broker's credentials).
	// Required for SASL peers.
	SASL sasl.Mechanism
	// Logger receives authentication failures, at most one per peer per
	// minute (fetchers retry every 100ms). Default slog.Default().
	Logger *slog.Logger
}

// PeerDialer opens inter-broker connections. Safe for concurrent use; a nil
// *PeerDialer dials every peer's registered address in plaintext.
type PeerDialer struct {
	cfg PeerDialerConfig

	mu     sync.Mutex
	warned map[int32]time.Time    // guarded by mu: last logged failure per peer
	failed map[int32]*authBackoff // guarded by mu: peers that refused us lately
}

// authBackoff holds back dials to a peer that refused this broker's
// credentials: every partition's fetcher retries every 100ms, and each
// attempt would cost both sides a SCRAM key derivation and the peer a log
// line. The wait doubles up to peerAuthBackoffMax and ends on a success.
type authBackoff struct {
	until time.Time
	wait  time.Duration
	err   error
}

// Bounds of authBackoff.wait: fixing the credentials (or creating the user)
// is picked up within peerAuthBackoffMax.
const (
	peerAuthBackoffMin = 500 * time.Millisecond
	peerAuthBackoffMax = 5 * time.Second
)

// NewPeerDialer returns a dialer with cfg.
func NewPeerDialer(cfg PeerDialerConfig) *PeerDialer {
	if cfg.Protocol == "" {
		cfg.Protocol = protoPlaintext
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &PeerDialer{cfg: cfg, warned: map[int32]time.Time{}, failed: map[int32]*authBackoff{}}
}

// peerWarnEvery bounds how often one peer's authentication failure is logged.
const peerWarnEvery = time.Minute

// Dial connects to broker b and authenticates; clientID names the
// connection in the peer's logs; timeout bounds the dial and each handshake
// step. Errors from TLS or SASL wrap ErrPeerAuthentication.
func (d *PeerDialer) Dial(b cluster.Broker, clientID string, timeout time.Duration) (*PeerConn, error) {
	w, err := d.dial(b, clientID, timeout)
	if err != nil {
		return nil, err
	}
	return &PeerConn{w: w}, nil
}

// endpoint picks b's inter-broker address and its protocol.
func (d *PeerDialer) endpoint(b cluster.Broker) (addr, host, protocol string, err error) {
	host, port, protocol := b.Host, b.Port, protoPlaintext
	if d != nil && d.cfg.Listener != "" {
		if e, ok := b.Endpoint(d.cfg.Listener); ok {
			host, port, protocol = e.Host, e.Port, e.Protocol
		} else if len(b.Listeners) > 0 {
			return "", "", "", fmt.Errorf("broker %d registered no listener %q (inter.broker.listener.name)", b.ID, d.cfg.Listener)
		} else {
			protocol = d.cfg.Protocol
		}
	}
	return net.JoinHostPort(host, strconv.Itoa(int(port))), host, protocol, nil
}

func (d *PeerDialer) dial(b cluster.Broker, clientID string, timeout time.Duration) (*wireConn, error) {
	addr, host, protocol, err := d.endpoint(b)
	if err != nil {
		return nil, err
	}
	if protocol == protoPlaintext {
		return dialWire(addr, clientID, timeout)
	}
	if err := d.heldBack(b.ID); err != nil {
		return nil, err
	}
	w, err := d.dialSecured(addr, host, protocol, clientID, timeout)
	d.outcome(b.ID, addr, err)
	return w, err
}

// heldBack returns the last authentication error of peer id while its
// backoff lasts.
func (d *PeerDialer) heldBack(id int32) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if f := d.failed[id]; f != nil && time.Now().Before(f.until) {
		return fmt.Errorf("held back after a refused authentication: %w", f.err)
	}
	return nil
}

// outcome records a dial's result: an authentication failure extends the
// peer's backoff and is logged (at most once a minute per peer), anything
// else ends it.
func (d *PeerDialer) outcome(id int32, addr string, err error) {
	if err == nil || !errors.Is(err, ErrPeerAuthentication) {
		d.mu.Lock()
		delete(d.failed, id)
		d.mu.Unlock()
		return
	}
	now := time.Now()
	d.mu.Lock()
	f := d.failed[id]
	if f == nil {
		f = &authBackoff{}
		d.failed[id] = f
	}
	f.wait = min(max(2*f.wait, peerAuthBackoffMin), peerAuthBackoffMax)
	f.until, f.err = now.Add(f.wait), err
	last, seen := d.warned[id]
	log := !seen || now.Sub(last) >= peerWarnEvery
	if log {
		d.warned[id] = now
	}
	d.mu.Unlock()
	if log {
		d.cfg.Logger.Warn("cannot authenticate to peer broker; replication and transaction markers to it stop until this is fixed",
			"broker", id, "addr", addr, "listener", d.cfg.Listener, "err", err)
	}
}

// dialSecured dials a TLS and/or SASL listener.
func (d *PeerDialer) dialSecured(addr, host, protocol, clientID string, timeout time.Duration) (*wireConn, error) {
	useTLS := protocol == protoSSL || protocol == protoSASLSSL
	useSASL := protocol == protoSASLPlaintext || protocol == protoSASLSSL
	switch {
	case !useTLS && !useSASL:
		return nil, fmt.Errorf("dial %s: unknown security protocol %q", addr, protocol)
	case useTLS && d.cfg.TLS == nil:
		return nil, fmt.Errorf("dial %s: %w: %s listener but no inter-broker TLS config", addr, ErrPeerAuthentication, protocol)
	case useSASL && d.cfg.SASL == nil:
		return nil, fmt.Errorf("dial %s: %w: %s listener but no inter-broker SASL mechanism", addr, ErrPeerAuthentication, protocol)
	}
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	if useTLS {
		cfg := d.cfg.TLS.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
		tc := tls.Client(c, cfg)
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			c.Close()
			var ne net.Error
			if errors.As(err, &ne) {
				return nil, fmt.Errorf("tls handshake with %s: %w", addr, err)
			}
			return nil, fmt.Errorf("tls handshake with %s: %w: %w", addr, ErrPeerAuthentication, err)
		}
		c = tc
	}
	w := newWireConn(c, clientID)
	if useSASL {
		if err := w.authenticate(d.cfg.SASL, host, timeout); err != nil {
			w.Close()
			return nil, fmt.Errorf("authenticate to %s: %w", addr, err)
		}
	}
	return w, nil
}

// saslSession is a connection's SASL state, for re-authentication.
type saslSession struct {
	mech sasl.Mechanism
	host string
	// reauthAt is when to re-authenticate (zero: never), ahead of the
	// session lifetime the peer gave.
	reauthAt time.Time
}

// due reports whether the session must be renewed before the next request.
func (s *saslSession) due() bool {
	return !s.reauthAt.IsZero() && !time.Now().Before(s.reauthAt)
}

// maxSASLRounds bounds a SASL exchange (SCRAM needs two, PLAIN one).
const maxSASLRounds = 8

// authenticate runs SaslHandshake v1 and the SaslAuthenticate v1 exchange of
// mech on w (both non-flexible). A refusal wraps ErrPeerAuthentication.
func (w *wireConn) authenticate(mech sasl.Mechanism, host string, timeout time.Duration) error {
	hs := kmsg.NewSASLHandshakeRequest()
	hs.SetVersion(1)
	hs.Mechanism = mech.Name()
	hsResp := kmsg.NewSASLHandshakeResponse()
	if err := w.roundTrip(&hs, &hsResp, timeout); err != nil {
		return fmt.Errorf("sasl handshake: %w", err)
	}
	if err := kerr.ErrorForCode(hsResp.ErrorCode); err != nil {
		return fmt.Errorf("%w: sasl handshake for %s: %w (the peer offers %v)", ErrPeerAuthentication, mech.Name(), err, hsResp.SupportedMechanisms)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	sess, msg, err := mech.Authenticate(ctx, host)
	if err != nil {
		return fmt.Errorf("%w: start %s: %w", ErrPeerAuthentication, mech.Name(), err)
	}
	var lifetime int64
	done := false
	for round := 0; !done || len(msg) > 0; round++ {
		if round == maxSASLRounds {
			return fmt.Errorf("%w: %s did not finish in %d rounds", ErrPeerAuthentication, mech.Name(), maxSASLRounds)
		}
		req := kmsg.NewSASLAuthenticateRequest()
		req.SetVersion(1)
		req.SASLAuthBytes = msg
		resp := kmsg.NewSASLAuthenticateResponse()
		if err := w.roundTrip(&req, &resp, timeout); err != nil {
			return fmt.Errorf("sasl authenticate: %w", err)
		}
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			text := ""
			if resp.ErrorMessage != nil {
				text = ": " + *resp.ErrorMessage
			}
			return fmt.Errorf("%w: %s: %w%s", ErrPeerAuthentication, mech.Name(), err, text)
		}
		lifetime = resp.SessionLifetimeMillis
		if done {
			msg = nil // a last client message was sent; nothing more to check
			continue
		}
		if done, msg, err = sess.Challenge(resp.SASLAuthBytes); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrPeerAuthentication, mech.Name(), err)
		}
	}
	w.auth = &saslSession{mech: mech, host: host}
	if lifetime > 0 {
		// Renew at 90% of the lifetime so a request never meets an expired session.
		w.auth.reauthAt = time.Now().Add(time.Duration(lifetime) * time.Millisecond * 9 / 10)
	}
	return nil
}

// dialBroker connects to broker id as the latest metadata names it, through
// the configured PeerDialer (nil: plaintext to its registered address).
func (m *Manager) dialBroker(id int32, clientID string, timeout time.Duration) (*wireConn, error) {
	b, ok := m.broker(id)
	if !ok {
		return nil, fmt.Errorf("dial broker %d: %w", id, ErrUnknownBroker)
	}
	w, err := m.cfg.Dialer.dial(b, clientID, timeout)
	if err != nil {
		return nil, fmt.Errorf("dial broker %d: %w", id, err)
	}
	return w, nil
}

// broker is broker id's record in the latest metadata.
func (m *Manager) broker(id int32) (cluster.Broker, bool) {
	bs := m.brokers.Load()
	if bs == nil {
		return cluster.Broker{}, false
	}
	for _, b := range *bs {
		if b.ID == id {
			return b, true
		}
	}
	return cluster.Broker{}, false
}
