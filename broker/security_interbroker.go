package broker

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/tributary-io/tributary/broker/auth"
	"github.com/tributary-io/tributary/broker/cluster"
	"github.com/tributary-io/tributary/broker/replication"
)

// InterBrokerConfig says how this broker connects to the other brokers of a
// cluster (replica fetches, transaction markers). Peers are dialed on the
// inter-broker listener they registered; TLS and SASL follow that listener's
// protocol. With an authorizer, the principal this broker authenticates as
// (the SASL user, or on an SSL listener its certificate's subject) must be a
// super user or hold CLUSTER_ACTION on the cluster, as in Kafka.
type InterBrokerConfig struct {
	// Listener is inter.broker.listener.name: the name of the listener peers
	// are dialed on ("SASL_SSL", "INTERNAL"). Default: the first listener.
	Listener string
	// SASLMechanism is sasl.mechanism.inter.broker.protocol: PLAIN,
	// SCRAM-SHA-256 or SCRAM-SHA-512. Default SCRAM-SHA-512. Used when the
	// listener is SASL_PLAINTEXT or SASL_SSL.
	SASLMechanism string
	// Username and Password are this broker's SASL credentials on the
	// inter-broker listener: a SCRAM user of the cluster (list it in
	// SecurityConfig.Users to create it at first start). Required when the
	// listener uses SASL.
	Username string
	Password string
	// CAFile holds the PEM CAs that sign the peers' server certificates
	// (ssl.truststore for the client side). Default SecurityConfig.TLS.CAFile;
	// when both are empty the system's roots are used. This broker presents
	// its own certificate (TLS.CertFile, reloaded as the listeners reload it)
	// when the listeners request client certificates; it must then allow
	// client authentication (extended key usage clientAuth).
	CAFile string
}

// defaultInterBrokerMechanism is sasl.mechanism.inter.broker.protocol's default.
const defaultInterBrokerMechanism = auth.MechanismScramSHA512

// interBrokerListener returns the inter-broker listener among listeners, or
// an error naming the listener that does not exist.
func (c SecurityConfig) interBrokerListener(listeners []string) (listenerSpec, error) {
	var names []string
	for i, l := range listeners {
		spec, err := c.parseListener(l)
		if err != nil {
			return listenerSpec{}, err
		}
		if c.InterBroker.Listener == "" && i == 0 || spec.name == c.InterBroker.Listener {
			return spec, nil
		}
		names = append(names, spec.name)
	}
	return listenerSpec{}, fmt.Errorf("inter.broker.listener.name %q is not one of the listeners %v", c.InterBroker.Listener, names)
}

// validateInterBroker returns every problem of the inter-broker settings.
// Listener parse errors are reported by validate itself.
func (c SecurityConfig) validateInterBroker(listeners []string) []error {
	ib := c.InterBroker
	var errs []error
	mech := ib.SASLMechanism
	if mech == "" {
		mech = defaultInterBrokerMechanism
	} else if !slices.Contains(auth.AllMechanisms(), mech) {
		errs = append(errs, fmt.Errorf("sasl.mechanism.inter.broker.protocol: %q is not supported (%v)", mech, auth.AllMechanisms()))
	}
	if len(listeners) == 0 {
		return errs
	}
	spec, err := c.interBrokerListener(listeners)
	if err != nil {
		var perr error
		for _, l := range listeners {
			if _, e := c.parseListener(l); e != nil {
				perr = e
			}
		}
		if perr == nil { // a bad listener is reported once, by validate
			errs = append(errs, err)
		}
		return errs
	}
	if spec.protocol.SASL() {
		if ib.Username == "" || ib.Password == "" {
			errs = append(errs, fmt.Errorf("inter-broker listener %s is %s: the broker's SASL username and password are required", spec.name, spec.protocol))
		}
		if len(c.SASLMechanisms) > 0 && !slices.Contains(c.SASLMechanisms, mech) {
			errs = append(errs, fmt.Errorf("sasl.mechanism.inter.broker.protocol %s is not in sasl.enabled.mechanisms %v", mech, c.SASLMechanisms))
		}
	}
	return errs
}

// peerDialer builds the inter-broker dialer of a cluster node: TLS client
// settings (CA file read once here, certificate through a reloader) and the
// SASL mechanism, as the inter-broker listener needs them.
func (c SecurityConfig) peerDialer(listeners []string, logger *slog.Logger, now func() time.Time) (*replication.PeerDialer, error) {
	spec, err := c.interBrokerListener(listeners)
	if err != nil {
		return nil, err
	}
	cfg := replication.PeerDialerConfig{Listener: spec.name, Protocol: string(spec.protocol), Logger: logger}
	if spec.protocol.TLS() {
		if cfg.TLS, err = c.interBrokerTLS(now); err != nil {
			return nil, fmt.Errorf("inter-broker tls: %w", err)
		}
	}
	if spec.protocol.SASL() {
		cfg.SASL = c.interBrokerSASL()
	}
	return replication.NewPeerDialer(cfg), nil
}

// interBrokerTLS is the client side of the TLS listeners' settings.
func (c SecurityConfig) interBrokerTLS(now func() time.Time) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	caFile := c.InterBroker.CAFile
	if caFile == "" {
		caFile = c.TLS.CAFile
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
		}
		cfg.RootCAs = pool
	}
	if c.TLS.ClientAuth == auth.ClientAuthRequested || c.TLS.ClientAuth == auth.ClientAuthRequired {
		r, err := auth.NewCertReloader(c.TLS, now)
		if err != nil {
			return nil, err
		}
		// The reloader's server config hands out the current material.
		server := r.ServerConfig()
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			cur, err := server.GetConfigForClient(nil)
			if err != nil || cur == nil || len(cur.Certificates) == 0 {
				return nil, errors.Join(errors.New("no node certificate loaded"), err)
			}
			return &cur.Certificates[0], nil
		}
	}
	return cfg, nil
}

// interBrokerSASL is the franz-go client mechanism of the broker's credentials.
func (c SecurityConfig) interBrokerSASL() sasl.Mechanism {
	ib := c.InterBroker
	switch ib.SASLMechanism {
	case auth.MechanismPlain:
		return plain.Auth{User: ib.Username, Pass: ib.Password}.AsMechanism()
	case auth.MechanismScramSHA256:
		return scram.Auth{User: ib.Username, Pass: ib.Password}.AsSha256Mechanism()
	default:
		return scram.Auth{User: ib.Username, Pass: ib.Password}.AsSha512Mechanism()
	}
}

// endpoints are every advertised listener, for the broker's registration
// (adv is parallel to listeners).
func (c SecurityConfig) endpoints(listeners []string, adv []cluster.Broker) ([]cluster.Endpoint, error) {
	out := make([]cluster.Endpoint, len(listeners))
	for i, l := range listeners {
		spec, err := c.parseListener(l)
		if err != nil {
			return nil, err
		}
		out[i] = cluster.Endpoint{Name: spec.name, Protocol: string(spec.protocol), Host: adv[i].Host, Port: adv[i].Port}
	}
	return out, nil
}

// interBrokerSelf is the registration of a cluster node: its first
// advertised listener (what Metadata tells clients) plus every listener by
// name, so peers find the inter-broker one. It notes at start when, with the
// authorizer on, the inter-broker SASL user is not a super user and so needs a
// CLUSTER_ACTION grant.
func (b *Broker) interBrokerSelf(adv []cluster.Broker) (cluster.Broker, error) {
	self := adv[0]
	sec := b.cfg.Security
	ls, err := sec.endpoints(b.cfg.Listeners, adv)
	if err != nil {
		return cluster.Broker{}, err
	}
	self.Listeners = ls
	spec, err := sec.interBrokerListener(b.cfg.Listeners)
	if err != nil {
		return cluster.Broker{}, err
	}
	if sec.Authorizer && spec.protocol.SASL() && !slices.Contains(sec.SuperUsers, auth.User(sec.InterBroker.Username).String()) {
		b.cfg.Logger.Info("inter-broker user is not a super user: it needs ALLOW CLUSTER_ACTION on the cluster for replication and transaction markers",
			"user", sec.InterBroker.Username, "listener", spec.name)
	}
	return self, nil
}
