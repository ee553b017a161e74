package broker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/auth"
	"github.com/tributary-io/tributary/broker/auth/authtest"
	"github.com/tributary-io/tributary/broker/cluster"
	"github.com/tributary-io/tributary/broker/replication"
)

func TestInterBrokerConfigValidate(t *testing.T) {
	tlsFiles := auth.TLSFiles{CertFile: "c.pem", KeyFile: "k.pem"}
	creds := InterBrokerConfig{Username: "broker", Password: "pw"}
	for _, tc := range []struct {
		name      string
		listeners []string
		sec       SecurityConfig
		single    bool     // a single node: it dials no peers
		want      []string // substrings, one per expected problem
	}{
		{name: "single node needs no inter-broker credentials", listeners: []string{"SASL_PLAINTEXT://:9092"}, single: true},
		{name: "plaintext default", listeners: []string{"127.0.0.1:9092"}},
		{name: "sasl_ssl with credentials", listeners: []string{"SASL_SSL://:9092"},
			sec: SecurityConfig{TLS: tlsFiles, InterBroker: creds}},
		{name: "sasl listener without credentials", listeners: []string{"SASL_PLAINTEXT://:9092"},
			want: []string{"SASL_PLAINTEXT: the broker's SASL username and password are required"}},
		{name: "first listener is the default", listeners: []string{"PLAINTEXT://:9092", "SASL_PLAINTEXT://:9093"}},
		{name: "chosen listener by custom name", listeners: []string{"PLAINTEXT://:9092", "INTERNAL://:9093"},
			sec: SecurityConfig{ListenerProtocols: map[string]string{"INTERNAL": "SASL_PLAINTEXT"},
				InterBroker: InterBrokerConfig{Listener: "INTERNAL"}},
			want: []string{"inter-broker listener INTERNAL is SASL_PLAINTEXT"}},
		{name: "unknown listener", listeners: []string{"PLAINTEXT://:9092"},
			sec:  SecurityConfig{InterBroker: InterBrokerConfig{Listener: "INTERNAL"}},
			want: []string{`inter.broker.listener.name "INTERNAL" is not one of the listeners [PLAINTEXT]`}},
		{name: "every problem at once", listeners: []string{"SASL_SSL://:9092"},
			sec: SecurityConfig{SASLMechanisms: []string{"PLAIN"}, InterBroker: InterBrokerConfig{SASLMechanism: "GSSAPI"}},
			want: []string{"TLS listener: tls: cert file and key file are required",
				`sasl.mechanism.inter.broker.protocol: "GSSAPI" is not supported`,
				"the broker's SASL username and password are required",
				"sasl.mechanism.inter.broker.protocol GSSAPI is not in sasl.enabled.mechanisms [PLAIN]"}},
		{name: "default mechanism must be enabled", listeners: []string{"SASL_PLAINTEXT://:9092"},
			sec:  SecurityConfig{SASLMechanisms: []string{"PLAIN"}, InterBroker: creds},
			want: []string{"sasl.mechanism.inter.broker.protocol SCRAM-SHA-512 is not in sasl.enabled.mechanisms"}},
		{name: "bad listener reported once", listeners: []string{"WEIRD://:9092"},
			want: []string{`listener "WEIRD://:9092"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Listeners: tc.listeners, Security: tc.sec}
			if !tc.single {
				cfg.Cluster = &ClusterConfig{}
			}
			cfg.EnsureDefaults()
			err := cfg.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if got := strings.Count(msg, "\n") + 1; got != len(tc.want) {
				t.Errorf("%d problems reported, want %d:\n%s", got, len(tc.want), msg)
			}
		})
	}
}

// ibPKI is a CA and a node certificate usable as server and client, as PEM
// files written by authtest; CN=broker.
type ibPKI struct {
	caFile, certFile, keyFile string
}

func newIBPKI(t *testing.T) ibPKI {
	t.Helper()
	p := authtest.NewPKI(t)
	certFile, keyFile := p.Issue(t, "broker", authtest.CertOptions{Usage: authtest.ServerAndClient, File: "node"})
	return ibPKI{caFile: p.CAFile(), certFile: certFile, keyFile: keyFile}
}

// The principal of the node certificate on an SSL listener.
const nodeCertPrincipal = "User:CN=broker,O=tributary"

// secureTestBroker starts a single broker with SASL_SSL, SSL (client
// certificates requested) and SASL_PLAINTEXT listeners, the authorizer on,
// super users broker and the node certificate, and a normal user alice. It
// returns the broker's record as peers would see it in the metadata.
func secureTestBroker(t *testing.T, pki ibPKI, reauth time.Duration) (SecurityConfig, cluster.Broker) {
	t.Helper()
	sec := SecurityConfig{
		ReauthMax:  reauth,
		TLS:        auth.TLSFiles{CertFile: pki.certFile, KeyFile: pki.keyFile, CAFile: pki.caFile, ClientAuth: auth.ClientAuthRequested},
		Authorizer: true,
		SuperUsers: []string{"User:broker", nodeCertPrincipal},
		Users:      []BootstrapUser{{Name: "broker", Password: "broker-pw"}, {Name: "alice", Password: "alice-pw"}},
	}
	listeners := []string{"SASL_SSL://127.0.0.1:0", "SSL://127.0.0.1:0", "SASL_PLAINTEXT://127.0.0.1:0"}
	b, err := New(Config{NodeID: 1, DataDir: t.TempDir(), Listeners: listeners, Security: sec,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), CleanerInterval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := b.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	var adv []cluster.Broker
	for _, a := range b.Addrs() {
		ta := a.(*net.TCPAddr)
		adv = append(adv, cluster.Broker{ID: 1, Host: "127.0.0.1", Port: int32(ta.Port)})
	}
	eps, err := sec.endpoints(listeners, adv)
	if err != nil {
		t.Fatal(err)
	}
	self := adv[0]
	self.Listeners = eps
	return sec, self
}

// replicaFetch is a follower's empty fetch (replica id 2), answered with a
// top-level error code only.
func replicaFetch(t *testing.T, c *replication.PeerConn) int16 {
	t.Helper()
	req := kmsg.NewFetchRequest()
	req.SetVersion(11)
	req.ReplicaID = 2
	req.MaxWaitMillis = 1
	req.SessionEpoch = -1
	resp := kmsg.NewFetchResponse()
	if err := c.Request(&req, &resp, 5*time.Second); err != nil {
		t.Fatalf("replica fetch: %v", err)
	}
	return resp.ErrorCode
}

// writeMarker sends WriteTxnMarkers v0 for a topic that does not exist and
// returns its partition's error code.
func writeMarker(t *testing.T, c *replication.PeerConn) int16 {
	t.Helper()
	req := kmsg.NewWriteTxnMarkersRequest()
	req.SetVersion(0)
	m := kmsg.NewWriteTxnMarkersRequestMarker()
	m.ProducerID, m.Committed = 7, true
	mt := kmsg.NewWriteTxnMarkersRequestMarkerTopic()
	mt.Topic, mt.Partitions = "no-such-topic", []int32{0}
	m.Topics = append(m.Topics, mt)
	req.Markers = append(req.Markers, m)
	resp := kmsg.NewWriteTxnMarkersResponse()
	if err := c.Request(&req, &resp, 5*time.Second); err != nil {
		t.Fatalf("write txn markers: %v", err)
	}
	if len(resp.Markers) != 1 || len(resp.Markers[0].Topics) != 1 || len(resp.Markers[0].Topics[0].Partitions) != 1 {
		t.Fatalf("write txn markers: malformed answer %+v", resp)
	}
	return resp.Markers[0].Topics[0].Partitions[0].ErrorCode
}

// The dialer built from the config reaches each kind of listener, TLS and
// SASL handshakes first, and the peer authorizes replica fetches and
// transaction markers by CLUSTER_ACTION on the principal it authenticated.
func TestInterBrokerDialer(t *testing.T) {
	pki := newIBPKI(t)
	base, peer := secureTestBroker(t, pki, 0)
	other := newIBPKI(t) // a CA that signed none of the broker's certificates
	clusterDenied := kerr.ClusterAuthorizationFailed.Code
	unknown := kerr.UnknownTopicOrPartition.Code
	for _, tc := range []struct {
		name     string
		ib       InterBrokerConfig
		caFile   string // replaces the TLS CA file when set
		authFail bool
		fetch    int16 // error code of a replica fetch
		marker   int16 // error code of a marker for an unknown topic
	}{
		{name: "sasl_ssl scram-sha-512 super user", ib: InterBrokerConfig{Username: "broker", Password: "broker-pw"}, marker: unknown},
		{name: "sasl_ssl scram-sha-256", ib: InterBrokerConfig{SASLMechanism: "SCRAM-SHA-256", Username: "broker", Password: "broker-pw"}, marker: unknown},
		{name: "sasl_ssl plain", ib: InterBrokerConfig{SASLMechanism: "PLAIN", Username: "broker", Password: "broker-pw"}, marker: unknown},
		{name: "sasl_ssl without cluster action", ib: InterBrokerConfig{Username: "alice", Password: "alice-pw"},
			fetch: clusterDenied, marker: clusterDenied},
		{name: "sasl_ssl wrong password", ib: InterBrokerConfig{Username: "broker", Password: "nope"}, authFail: true},
		{name: "sasl_ssl unknown user", ib: InterBrokerConfig{SASLMechanism: "PLAIN", Username: "mallory", Password: "x"}, authFail: true},
		{name: "sasl_ssl untrusted server certificate", ib: InterBrokerConfig{Username: "broker", Password: "broker-pw"},
			caFile: other.caFile, authFail: true},
		{name: "ssl node certificate", ib: InterBrokerConfig{Listener: "SSL"}, marker: unknown},
		{name: "sasl_plaintext scram-sha-256", ib: InterBrokerConfig{Listener: "SASL_PLAINTEXT", SASLMechanism: "SCRAM-SHA-256",
			Username: "broker", Password: "broker-pw"}, marker: unknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sec := base
			sec.InterBroker = tc.ib
			if tc.caFile != "" {
				sec.TLS.CAFile = tc.caFile
			}
			listeners := []string{"SASL_SSL://127.0.0.1:0", "SSL://127.0.0.1:0", "SASL_PLAINTEXT://127.0.0.1:0"}
			if errs := sec.validateInterBroker(listeners); len(errs) > 0 {
				t.Fatalf("config: %v", errs)
			}
			d, err := sec.peerDialer(listeners, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)
			if err != nil {
				t.Fatal(err)
			}
			c, err := d.Dial(peer, "test-peer", 5*time.Second)
			if tc.authFail {
				if !errors.Is(err, replication.ErrPeerAuthentication) {
					t.Fatalf("dial: got %v, want ErrPeerAuthentication", err)
				}
				// The next dial right away is held back without a new exchange.
				_, err = d.Dial(peer, "test-peer", 5*time.Second)
				if !errors.Is(err, replication.ErrPeerAuthentication) || !strings.Contains(err.Error(), "held back") {
					t.Fatalf("second dial: got %v, want a held-back ErrPeerAuthentication", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer c.Close()
			if got := replicaFetch(t, c); got != tc.fetch {
				t.Errorf("replica fetch error code %d, want %d", got, tc.fetch)
			}
			if got := writeMarker(t, c); got != tc.marker {
				t.Errorf("marker error code %d, want %d", got, tc.marker)
			}
		})
	}
}

// A peer that registered no listener of the inter-broker name is an error
// naming it; one registered by an older version (no listeners) is dialed at
// its first address.
func TestInterBrokerDialerEndpoint(t *testing.T) {
	pki := newIBPKI(t)
	base, peer := secureTestBroker(t, pki, 0)
	listeners := []string{"SASL_SSL://127.0.0.1:0"}
	sec := base
	sec.InterBroker = InterBrokerConfig{Listener: "SASL_SSL", Username: "broker", Password: "broker-pw"}
	d, err := sec.peerDialer(listeners, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	missing := peer
	missing.Listeners = peer.Listeners[1:]
	if _, err := d.Dial(missing, "test-peer", 5*time.Second); err == nil || !strings.Contains(err.Error(), `no listener "SASL_SSL"`) {
		t.Fatalf("dial a peer without the listener: %v", err)
	}
	old := cluster.Broker{ID: 1, Host: peer.Host, Port: peer.Port} // the first listener is SASL_SSL
	c, err := d.Dial(old, "test-peer", 5*time.Second)
	if err != nil {
		t.Fatalf("dial a peer registered without listeners: %v", err)
	}
	defer c.Close()
	if got := replicaFetch(t, c); got != 0 {
		t.Fatalf("replica fetch error code %d", got)
	}
}

// A peer with connections.max.reauth.ms ends SASL sessions; the inter-broker
// connection re-authenticates before its session expires (KIP-368) instead
// of being closed.
func TestInterBrokerReauthentication(t *testing.T) {
	const lifetime = 400 * time.Millisecond
	base, peer := secureTestBroker(t, newIBPKI(t), lifetime)
	sec := base
	sec.InterBroker = InterBrokerConfig{Username: "broker", Password: "broker-pw"}
	d, err := sec.peerDialer([]string{"SASL_SSL://127.0.0.1:0"}, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.Dial(peer, "test-peer", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Requests over three lifetimes: without re-authentication the peer
	// closes the connection at the first request after the first one ends.
	requests := 0
	for end := time.Now().Add(3 * lifetime); time.Now().Before(end); requests++ {
		if got := replicaFetch(t, c); got != 0 {
			t.Fatalf("request %d: error code %d", requests, got)
		}
		time.Sleep(20 * time.Millisecond) // pace the requests; nothing is awaited here
	}
	if requests < 10 {
		t.Fatalf("only %d requests in three session lifetimes", requests)
	}
}
