package broker

import (
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/auth"
	"github.com/tributary-io/tributary/broker/cluster"
	"github.com/tributary-io/tributary/broker/kafka"
)

// SecurityConfig configures TLS, SASL and ACLs. A listener's security comes
// from its name ("SASL_SSL://host:port"); several listeners may differ.
type SecurityConfig struct {
	// ListenerProtocols is listener.security.protocol.map: listener name →
	// PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL, for names that are not a
	// protocol themselves ("INTERNAL", "EXTERNAL"). A listener with no scheme
	// is PLAINTEXT.
	ListenerProtocols map[string]string
	// TLS holds the PEM files of SSL and SASL_SSL listeners (ssl.keystore and
	// ssl.truststore in Kafka, ssl.client.auth). Files are reread when they
	// change. Required when a TLS listener exists.
	TLS auth.TLSFiles
	// SASLMechanisms is sasl.enabled.mechanisms. Default: SCRAM-SHA-512,
	// SCRAM-SHA-256, PLAIN. PLAIN checks passwords against the SCRAM credentials.
	SASLMechanisms []string
	// ReauthMax is connections.max.reauth.ms (KIP-368). Default 0: sessions
	// last as long as their connection.
	ReauthMax time.Duration
	// Authorizer turns on ACL checks for every request (authorizer.class.name
	// in Kafka). Default false: everything is allowed.
	Authorizer bool
	// SuperUsers are principals allowed everything ("User:admin").
	SuperUsers []string
	// AllowEveryoneIfNoACL is allow.everyone.if.no.acl.found. Default false.
	AllowEveryoneIfNoACL bool
	// Users are SCRAM users created at start when they have no credential yet
	// (the first admin; Kafka's "kafka-storage format --add-scram"). Only the
	// salted keys are stored; later changes go through AlterUserScramCredentials.
	Users []BootstrapUser
	// InterBroker says how this broker connects to the other brokers of a
	// cluster: inter.broker.listener.name, the SASL mechanism and credentials
	// and the TLS trust (security_interbroker.go). Default: the first
	// listener, with SCRAM-SHA-512 when it uses SASL.
	InterBroker InterBrokerConfig
}

// BootstrapUser is a SCRAM user created at start.
type BootstrapUser struct {
	Name     string
	Password string
	// Mechanisms default to SCRAM-SHA-256 and SCRAM-SHA-512.
	Mechanisms []string
}

// bootstrapIterations is the iteration count of bootstrap credentials.
const bootstrapIterations = 8192

// listenerSpec is a parsed listener: name, protocol, address.
type listenerSpec struct {
	name     string
	protocol kafka.SecurityProtocol
	addr     string
}

// parseListener splits "NAME://host:port" and resolves the protocol.
func (c SecurityConfig) parseListener(l string) (listenerSpec, error) {
	name, addr, ok := strings.Cut(l, "://")
	if !ok {
		return listenerSpec{name: string(kafka.Plaintext), protocol: kafka.Plaintext, addr: l}, nil
	}
	proto := name
	if p, ok := c.ListenerProtocols[name]; ok {
		proto = p
	}
	p, err := kafka.ParseSecurityProtocol(proto)
	if err != nil {
		return listenerSpec{}, fmt.Errorf("listener %q: %w (map custom names in listener.security.protocol.map)", l, err)
	}
	return listenerSpec{name: name, protocol: p, addr: addr}, nil
}

// validate returns every problem of the security settings for listeners.
func (c SecurityConfig) validate(listeners []string) error {
	var errs []error
	needTLS := false
	for _, l := range listeners {
		spec, err := c.parseListener(l)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		needTLS = needTLS || spec.protocol.TLS()
	}
	if needTLS {
		if err := c.TLS.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("TLS listener: %w", err))
		}
	}
	for _, m := range c.SASLMechanisms {
		if !slices.Contains(auth.AllMechanisms(), m) {
			errs = append(errs, fmt.Errorf("sasl.enabled.mechanisms: %q is not supported (%v)", m, auth.AllMechanisms()))
		}
	}
	if c.ReauthMax < 0 {
		errs = append(errs, fmt.Errorf("connections.max.reauth.ms=%v: must not be negative", c.ReauthMax))
	}
	for _, p := range c.SuperUsers {
		if _, err := auth.ParsePrincipal(p); err != nil {
			errs = append(errs, fmt.Errorf("super.users: %w", err))
		}
	}
	for _, u := range c.Users {
		if u.Name == "" || u.Password == "" {
			errs = append(errs, errors.New("bootstrap user: name and password are required"))
		}
		for _, m := range u.Mechanisms {
			if _, ok := auth.ParseScramMechanism(m); !ok {
				errs = append(errs, fmt.Errorf("bootstrap user %s: %q is not a SCRAM mechanism", u.Name, m))
			}
		}
	}
	return errors.Join(errs...)
}

// kafkaSecurity is the wire server's part of the settings.
func (c SecurityConfig) kafkaSecurity() kafka.Security {
	s := kafka.Security{SASLMechanisms: c.SASLMechanisms, ReauthMax: c.ReauthMax}
	if c.Authorizer {
		s.Authorizer = &auth.Authorizer{SuperUsers: c.SuperUsers, AllowEveryoneIfNoACL: c.AllowEveryoneIfNoACL}
	}
	return s
}

// bootstrapUsers stores the configured users that have no credential yet.
func (b *Broker) bootstrapUsers() error {
	for _, u := range b.cfg.Security.Users {
		mechs := u.Mechanisms
		if len(mechs) == 0 {
			mechs = []string{auth.MechanismScramSHA256, auth.MechanismScramSHA512}
		}
		for _, name := range mechs {
			m, _ := auth.ParseScramMechanism(name)
			if _, ok := b.meta.Snapshot().ScramCredential(u.Name, m); ok {
				continue
			}
			salt := make([]byte, 32)
			if _, err := rand.Read(salt); err != nil {
				return fmt.Errorf("bootstrap user %s: %w", u.Name, err)
			}
			cred, err := auth.CredentialFromPassword(m, u.Password, salt, bootstrapIterations)
			if err != nil {
				return fmt.Errorf("bootstrap user %s: %w", u.Name, err)
			}
			if err := b.meta.UpsertScramCredential(u.Name, cred); err != nil {
				return fmt.Errorf("bootstrap user %s: %w", u.Name, err)
			}
			b.cfg.Logger.Info("created bootstrap scram user", "user", u.Name, "mechanism", name)
		}
	}
	return nil
}

// securedListeners returns each listener's security for ServeListener, and
// creates the bootstrap users. TLS listeners share one certificate reloader.
func (b *Broker) securedListeners(adv []cluster.Broker) ([]kafka.Listener, error) {
	if err := b.bootstrapUsers(); err != nil {
		return nil, err
	}
	sec := b.cfg.Security
	var tlsCfg *tls.Config
	out := make([]kafka.Listener, len(b.cfg.Listeners))
	for i, l := range b.cfg.Listeners {
		spec, err := sec.parseListener(l)
		if err != nil {
			return nil, err
		}
		out[i] = kafka.Listener{Name: spec.name, Protocol: spec.protocol}
		if len(b.cfg.Listeners) > 1 {
			out[i].Advertised = adv[i]
		}
		if spec.protocol.TLS() {
			if tlsCfg == nil {
				r, err := auth.NewCertReloader(sec.TLS, b.cfg.Now)
				if err != nil {
					return nil, fmt.Errorf("listener %s: %w", l, err)
				}
				tlsCfg = r.ServerConfig()
			}
			out[i].TLS = tlsCfg
		}
	}
	return out, nil
}

// CheckPassword reports whether password is user's, checked against the
// stored SCRAM credential (the HTTP API's basic auth uses it). Without
// credentials for the user it is false.
func (b *Broker) CheckPassword(user, password string) bool {
	b.mu.Lock()
	meta := b.meta
	b.mu.Unlock()
	if meta == nil {
		return false
	}
	snap := meta.Snapshot()
	for _, m := range []auth.ScramMechanism{auth.ScramSHA512, auth.ScramSHA256} {
		if c, ok := snap.ScramCredential(user, m); ok {
			return c.CheckPassword(password)
		}
	}
	return false
}

// Authorized reports whether principal, coming from host, may do op on res
// under the current ACLs, as the Kafka listeners decide it; without an
// authorizer everything is allowed.
func (b *Broker) Authorized(principal auth.Principal, host string, op kmsg.ACLOperation, res auth.Resource) bool {
	z := b.cfg.Security.kafkaSecurity().Authorizer
	if z == nil {
		return true
	}
	b.mu.Lock()
	meta := b.meta
	b.mu.Unlock()
	if meta == nil {
		return false
	}
	return z.Authorize(meta.Snapshot().ACLs, principal, host, op, res)
}
