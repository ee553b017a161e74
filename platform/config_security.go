package platform

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tributary-io/tributary/broker"
	"github.com/tributary-io/tributary/broker/auth"
)

// SecuritySection is the `security:` section: TLS and SASL for the Kafka
// listeners (a listener's protocol comes from its scheme,
// "SASL_SSL://:9094"), ACLs, and authentication of the HTTP API.
type SecuritySection struct {
	// ListenerProtocols maps custom listener names to protocols
	// (listener.security.protocol.map), e.g. {INTERNAL: PLAINTEXT}.
	ListenerProtocols map[string]string `yaml:"listener_protocols"`
	// TLSCertFile and TLSKeyFile are the PEM server certificate and key of
	// SSL and SASL_SSL listeners; reread when they change.
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
	// TLSCAFile holds the CAs of client certificates (mTLS).
	TLSCAFile string `yaml:"tls_ca_file"`
	// TLSClientAuth is none, requested or required. Default none.
	TLSClientAuth string `yaml:"tls_client_auth"`
	// SASLMechanisms is sasl.enabled.mechanisms. Default: SCRAM-SHA-512,
	// SCRAM-SHA-256, PLAIN.
	SASLMechanisms []string `yaml:"sasl_mechanisms"`
	// ReauthMax is connections.max.reauth.ms (KIP-368). Default 0: never.
	ReauthMax time.Duration `yaml:"reauth_max"`
	// Authorizer turns on ACL checks. Default false.
	Authorizer bool `yaml:"authorizer"`
	// SuperUsers may do anything ("User:admin").
	SuperUsers []string `yaml:"super_users"`
	// AllowEveryoneIfNoACL is allow.everyone.if.no.acl.found. Default false.
	AllowEveryoneIfNoACL bool `yaml:"allow_everyone_if_no_acl"`
	// Users are SCRAM users created at first start, "name:password" (the
	// first admin). Only salted keys are stored.
	Users []string `yaml:"users"`
	// InterBrokerListener is inter.broker.listener.name: the listener (by
	// name) the brokers of a cluster dial each other on. Default: the first
	// listener.
	InterBrokerListener string `yaml:"inter_broker_listener"`
	// InterBrokerSASLMechanism is sasl.mechanism.inter.broker.protocol:
	// PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512. Default SCRAM-SHA-512.
	InterBrokerSASLMechanism string `yaml:"inter_broker_sasl_mechanism"`
	// InterBrokerUser and InterBrokerPassword are this broker's SASL
	// credentials on a SASL inter-broker listener (a SCRAM user; with the
	// authorizer on, a super user or one granted CLUSTER_ACTION).
	InterBrokerUser     string `yaml:"inter_broker_user"`
	InterBrokerPassword string `yaml:"inter_broker_password"`
	// InterBrokerCAFile holds the CAs of the peers' server certificates.
	// Default tls_ca_file; both empty: the system's roots.
	InterBrokerCAFile string `yaml:"inter_broker_ca_file"`
	// HTTPAuth requires a token or basic auth (a SCRAM user) on the HTTP API.
	// Default: on when Authorizer is on.
	HTTPAuth *bool `yaml:"http_auth"`
	// HTTPTokens maps bearer tokens to the principal they act as
	// ("s3cret": "User:ops").
	HTTPTokens map[string]string `yaml:"http_tokens"`
	// HTTPProtectMetrics requires authentication for /metrics too. Default false.
	HTTPProtectMetrics bool `yaml:"http_protect_metrics"`
	// HTTPProtectHealth requires authentication for /healthz and /readyz too.
	// Default false.
	HTTPProtectHealth bool `yaml:"http_protect_health"`
}

// httpAuthOn reports whether the HTTP API requires authentication.
func (s SecuritySection) httpAuthOn() bool {
	if s.HTTPAuth != nil {
		return *s.HTTPAuth
	}
	return s.Authorizer
}

func (s SecuritySection) problems() []error {
	var errs []error
	for _, u := range s.Users {
		if name, pass, ok := strings.Cut(u, ":"); !ok || name == "" || pass == "" {
			errs = append(errs, fmt.Errorf("security.users: %q is not name:password", redact(u)))
		}
	}
	for tok, p := range s.HTTPTokens {
		if len(tok) < 16 {
			errs = append(errs, fmt.Errorf("security.http_tokens: a token shorter than 16 characters"))
		}
		if _, err := auth.ParsePrincipal(p); err != nil {
			errs = append(errs, fmt.Errorf("security.http_tokens: %w", err))
		}
	}
	return errs
}

// redact hides the password of a name:password pair in messages.
func redact(u string) string {
	if name, _, ok := strings.Cut(u, ":"); ok {
		return name + ":***"
	}
	return u
}

// brokerConfig is the broker's part of the section.
func (s SecuritySection) brokerConfig() broker.SecurityConfig {
	sc := broker.SecurityConfig{
		ListenerProtocols: s.ListenerProtocols,
		TLS: auth.TLSFiles{CertFile: s.TLSCertFile, KeyFile: s.TLSKeyFile, CAFile: s.TLSCAFile,
			ClientAuth: auth.ClientAuth(s.TLSClientAuth)},
		SASLMechanisms:       s.SASLMechanisms,
		ReauthMax:            s.ReauthMax,
		Authorizer:           s.Authorizer,
		SuperUsers:           s.SuperUsers,
		AllowEveryoneIfNoACL: s.AllowEveryoneIfNoACL,
		InterBroker: broker.InterBrokerConfig{Listener: s.InterBrokerListener, SASLMechanism: s.InterBrokerSASLMechanism,
			Username: s.InterBrokerUser, Password: s.InterBrokerPassword, CAFile: s.InterBrokerCAFile},
	}
	for _, u := range s.Users {
		if name, pass, ok := strings.Cut(u, ":"); ok {
			sc.Users = append(sc.Users, broker.BootstrapUser{Name: name, Password: pass})
		}
	}
	return sc
}

// securitySettings are the env and flag forms of the section's keys.
func securitySettings() []setting {
	str := func(key, usage string, apply func(*Config, string)) setting {
		return setting{key: key, usage: usage, set: func(c *Config, v string) error { apply(c, strings.TrimSpace(v)); return nil }}
	}
	list := func(key, usage string, apply func(*Config, []string)) setting {
		return setting{key: key, usage: usage, set: func(c *Config, v string) error { apply(c, splitList(v)); return nil }}
	}
	boolean := func(key, usage string, apply func(*Config, bool)) setting {
		return setting{key: key, isBool: true, usage: usage, set: func(c *Config, v string) error {
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("%s %q: not a boolean", key, v)
			}
			apply(c, b)
			return nil
		}}
	}
	pairs := func(key, usage string, apply func(*Config, map[string]string)) setting {
		return setting{key: key, usage: usage, set: func(c *Config, v string) error {
			m := map[string]string{}
			for _, kv := range splitList(v) {
				k, val, ok := strings.Cut(kv, "=")
				if !ok {
					return fmt.Errorf("%s: %q is not name=value", key, kv)
				}
				m[k] = val
			}
			apply(c, m)
			return nil
		}}
	}
	return []setting{
		pairs("security.listener_protocols", "listener name=protocol pairs, comma-separated (listener.security.protocol.map)",
			func(c *Config, m map[string]string) { c.Security.ListenerProtocols = m }),
		str("security.tls_cert_file", "PEM server certificate of SSL/SASL_SSL listeners",
			func(c *Config, v string) { c.Security.TLSCertFile = v }),
		str("security.tls_key_file", "PEM key of the server certificate", func(c *Config, v string) { c.Security.TLSKeyFile = v }),
		str("security.tls_ca_file", "PEM CAs of client certificates (mTLS)", func(c *Config, v string) { c.Security.TLSCAFile = v }),
		str("security.tls_client_auth", "none, requested or required (default none)",
			func(c *Config, v string) { c.Security.TLSClientAuth = v }),
		list("security.sasl_mechanisms", "SASL mechanisms offered, comma-separated (default SCRAM-SHA-512,SCRAM-SHA-256,PLAIN)",
			func(c *Config, v []string) { c.Security.SASLMechanisms = v }),
		{key: "security.reauth_max", usage: "SASL sessions end after this long unless the client re-authenticates (default 0: never)",
			set: durationSetting("security.reauth_max", func(c *Config, d time.Duration) { c.Security.ReauthMax = d })},
		boolean("security.authorizer", "check ACLs on every request (default false)",
			func(c *Config, b bool) { c.Security.Authorizer = b }),
		list("security.super_users", "principals allowed everything, comma-separated (User:admin)",
			func(c *Config, v []string) { c.Security.SuperUsers = v }),
		boolean("security.allow_everyone_if_no_acl", "allow requests on resources no ACL names (default false)",
			func(c *Config, b bool) { c.Security.AllowEveryoneIfNoACL = b }),
		list("security.users", "SCRAM users created at first start, name:password, comma-separated",
			func(c *Config, v []string) { c.Security.Users = v }),
		str("security.inter_broker_listener", "listener name brokers dial each other on (inter.broker.listener.name; default: the first listener)",
			func(c *Config, v string) { c.Security.InterBrokerListener = v }),
		str("security.inter_broker_sasl_mechanism", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 between brokers (default SCRAM-SHA-512)",
			func(c *Config, v string) { c.Security.InterBrokerSASLMechanism = v }),
		str("security.inter_broker_user", "this broker's SASL user on a SASL inter-broker listener",
			func(c *Config, v string) { c.Security.InterBrokerUser = v }),
		str("security.inter_broker_password", "this broker's SASL password on a SASL inter-broker listener",
			func(c *Config, v string) { c.Security.InterBrokerPassword = v }),
		str("security.inter_broker_ca_file", "PEM CAs of the peers' server certificates (default tls_ca_file)",
			func(c *Config, v string) { c.Security.InterBrokerCAFile = v }),
		boolean("security.http_auth", "require a token or basic auth on the HTTP API (default: on with the authorizer)",
			func(c *Config, b bool) { c.Security.HTTPAuth = &b }),
		pairs("security.http_tokens", "bearer token=principal pairs for the HTTP API, comma-separated",
			func(c *Config, m map[string]string) { c.Security.HTTPTokens = m }),
		boolean("security.http_protect_metrics", "require authentication for /metrics too (default false)",
			func(c *Config, b bool) { c.Security.HTTPProtectMetrics = b }),
		boolean("security.http_protect_health", "require authentication for /healthz and /readyz too (default false)",
			func(c *Config, b bool) { c.Security.HTTPProtectHealth = b }),
	}
}
