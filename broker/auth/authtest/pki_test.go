package authtest

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// leaf loads a certificate pair and parses its leaf.
func leaf(t *testing.T, certFile, keyFile string) *x509.Certificate {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatalf("load pair: %v", err)
	}
	c, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Each usage verifies against the CA for exactly its extended key usages;
// server certificates name the loopback addresses; the validity window and
// the file name follow the options.
func TestIssue(t *testing.T) {
	p := NewPKI(t)
	if _, err := os.Stat(p.CAFile()); err != nil {
		t.Fatalf("CA file: %v", err)
	}
	if filepath.Dir(p.CAFile()) != p.Dir() {
		t.Fatalf("CA file %s not under %s", p.CAFile(), p.Dir())
	}
	past := time.Now().Add(-48 * time.Hour)
	for _, tc := range []struct {
		name           string
		opts           CertOptions
		server, client bool // has that extended key usage
		wantFile       string
		expired        bool
	}{
		{name: "client by default", client: true, wantFile: "alice.pem"},
		{name: "server", opts: CertOptions{Usage: Server}, server: true, wantFile: "alice.pem"},
		{name: "server and client", opts: CertOptions{Usage: ServerAndClient, File: "node"}, server: true, client: true, wantFile: "node.pem"},
		{name: "expired", opts: CertOptions{NotBefore: past, NotAfter: past.Add(time.Hour), File: "old"}, client: true, wantFile: "old.pem", expired: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			certFile, keyFile := p.Issue(t, "alice", tc.opts)
			if got := filepath.Base(certFile); got != tc.wantFile || filepath.Dir(certFile) != p.Dir() {
				t.Fatalf("cert file %s, want %s under %s", certFile, tc.wantFile, p.Dir())
			}
			c := leaf(t, certFile, keyFile)
			if c.Subject.CommonName != "alice" || len(c.Subject.Organization) != 1 || c.Subject.Organization[0] != Organization {
				t.Fatalf("subject %s", c.Subject)
			}
			if tc.expired {
				// The CA was not valid then either, so check the window itself.
				if !c.NotBefore.Equal(past.Truncate(time.Second)) || !c.NotAfter.Equal(past.Add(time.Hour).Truncate(time.Second)) {
					t.Fatalf("validity [%s, %s], want [%s, %s]", c.NotBefore, c.NotAfter, past, past.Add(time.Hour))
				}
			}
			for _, u := range []struct {
				usage x509.ExtKeyUsage
				want  bool
			}{{x509.ExtKeyUsageServerAuth, tc.server}, {x509.ExtKeyUsageClientAuth, tc.client}} {
				_, err := c.Verify(x509.VerifyOptions{Roots: p.Pool(), KeyUsages: []x509.ExtKeyUsage{u.usage}})
				want := u.want && !tc.expired
				if (err == nil) != want {
					t.Errorf("verify for usage %v: %v, want success %v", u.usage, err, want)
				}
			}
			if tc.server {
				for _, host := range []string{"127.0.0.1", "localhost"} {
					if err := c.VerifyHostname(host); err != nil {
						t.Errorf("server certificate for %s: %v", host, err)
					}
				}
			}
		})
	}
}

// handshake runs a TLS handshake over a pipe and returns the client's and the
// server's errors.
func handshake(server, client *tls.Config) (clientErr, serverErr error) {
	a, b := net.Pipe()
	var wg sync.WaitGroup
	wg.Go(func() {
		serverErr = tls.Server(b, server).Handshake()
		b.Close() // unblocks a client waiting for a reply that will not come
	})
	clientErr = tls.Client(a, client).Handshake()
	a.Close()
	wg.Wait()
	return clientErr, serverErr
}

// ClientTLS trusts the CA and presents the given client certificate to a
// server that requires one; a CA's client without a certificate, and a
// client of another CA, fail.
func TestClientTLS(t *testing.T) {
	p := NewPKI(t)
	sc, sk := p.Issue(t, "broker", CertOptions{Usage: Server})
	pair, err := tls.LoadX509KeyPair(sc, sk)
	if err != nil {
		t.Fatal(err)
	}
	server := &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs: p.Pool(), MinVersion: tls.VersionTLS12}
	cc, ck := p.Issue(t, "alice", CertOptions{})
	other := NewPKI(t)
	for _, tc := range []struct {
		name   string
		client *tls.Config
		ok     bool
	}{
		{name: "client certificate", client: p.ClientTLS(t, cc, ck), ok: true},
		{name: "no client certificate", client: p.ClientTLS(t, "", "")},
		{name: "another CA", client: other.ClientTLS(t, cc, ck)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.client.ServerName = "127.0.0.1"
			clientErr, serverErr := handshake(server, tc.client)
			if tc.ok && (clientErr != nil || serverErr != nil) {
				t.Fatalf("handshake: client %v, server %v", clientErr, serverErr)
			}
			if !tc.ok && clientErr == nil && serverErr == nil {
				t.Fatal("handshake succeeded")
			}
		})
	}
}

// WriteSelfSigned replaces the files with a certificate that verifies
// against itself for 127.0.0.1.
func TestWriteSelfSigned(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	for _, cn := range []string{"first", "second"} {
		WriteSelfSigned(t, certFile, keyFile, cn)
		c := leaf(t, certFile, keyFile)
		if c.Subject.CommonName != cn {
			t.Fatalf("CN %q, want %q", c.Subject.CommonName, cn)
		}
		roots := x509.NewCertPool()
		roots.AddCert(c)
		if _, err := c.Verify(x509.VerifyOptions{Roots: roots, DNSName: "127.0.0.1"}); err != nil {
			t.Fatalf("verify %s: %v", cn, err)
		}
	}
}
