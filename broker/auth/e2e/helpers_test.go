package e2e

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/tributary-io/tributary/broker"
	"github.com/tributary-io/tributary/broker/auth"
)

// Listener indexes of a test node.
const (
	lnPlain = iota
	lnSASLSSL
	lnSSL
	lnSASLPlain
)

const (
	adminUser = "admin"
	adminPass = "admin-secret"
)

// node is a running secured broker.
type node struct {
	b     *broker.Broker
	pki   *testPKI
	addrs []string
}

// startNode starts a broker with one listener of each protocol, an
// authorizer, and the super user admin; tweak adjusts the config first.
func startNode(t *testing.T, tweak func(*broker.Config)) *node {
	t.Helper()
	pki := newPKI(t)
	cfg := broker.Config{
		NodeID:  1,
		DataDir: t.TempDir(),
		Listeners: []string{
			"PLAINTEXT://127.0.0.1:0", "SASL_SSL://127.0.0.1:0", "SSL://127.0.0.1:0", "SASL_PLAINTEXT://127.0.0.1:0",
		},
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
		CleanerInterval: time.Minute,
		Security: broker.SecurityConfig{
			TLS: auth.TLSFiles{CertFile: pki.certFile, KeyFile: pki.keyFile, CAFile: pki.caFile,
				ClientAuth: auth.ClientAuthRequested},
			Authorizer: true,
			SuperUsers: []string{"User:" + adminUser},
			Users:      []broker.BootstrapUser{{Name: adminUser, Password: adminPass}},
		},
	}
	if tweak != nil {
		tweak(&cfg)
	}
	b, err := broker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	n := &node{b: b, pki: pki}
	for _, a := range b.Addrs() {
		n.addrs = append(n.addrs, a.String())
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := b.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	return n
}

// mechanism returns the franz-go SASL mechanism for name.
func mechanism(name, user, pass string) sasl.Mechanism {
	switch name {
	case auth.MechanismScramSHA256:
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism()
	case auth.MechanismScramSHA512:
		return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()
	}
	return plain.Auth{User: user, Pass: pass}.AsMechanism()
}

// saslClient connects to the SASL_SSL listener as user.
func (n *node) saslClient(t *testing.T, mech, user, pass string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	return n.client(t, n.addrs[lnSASLSSL], n.pki.clientTLS(t, "", ""), append(opts, kgo.SASL(mechanism(mech, user, pass)))...)
}

func (n *node) client(t *testing.T, addr string, tlsCfg *tls.Config, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	opts = append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.RetryTimeout(5 * time.Second),
		kgo.RequestRetries(2)}, opts...)
	if tlsCfg != nil {
		opts = append(opts, kgo.DialTLSConfig(tlsCfg))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// admin is a kadm client authenticated as the super user.
func (n *node) admin(t *testing.T) *kadm.Client {
	t.Helper()
	return kadm.NewClient(n.saslClient(t, auth.MechanismScramSHA512, adminUser, adminPass))
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// createUser stores SCRAM-SHA-256 and -512 credentials for user.
func createUser(t *testing.T, adm *kadm.Client, user, pass string) {
	t.Helper()
	res, err := adm.AlterUserSCRAMs(testCtx(t), nil, []kadm.UpsertSCRAM{
		{User: user, Mechanism: kadm.ScramSha256, Iterations: 4096, Password: pass},
		{User: user, Mechanism: kadm.ScramSha512, Iterations: 4096, Password: pass},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Error(); err != nil {
		t.Fatal(err)
	}
}

// allow grants principal ops on a resource kind built by build.
func allow(t *testing.T, adm *kadm.Client, b *kadm.ACLBuilder) {
	t.Helper()
	res, err := adm.CreateACLs(testCtx(t), b)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
}
