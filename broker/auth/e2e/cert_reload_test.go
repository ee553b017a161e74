package e2e

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"testing"
	"time"

	"github.com/tributary-io/tributary/broker/auth"
)

// TestListenerCertReloadWithoutRestart rotates the running broker's server
// certificate files in place: new TLS connections on the SSL and SASL_SSL
// listeners get the new certificate within seconds, without a restart, and
// a client connected before the rotation keeps working.
func TestListenerCertReloadWithoutRestart(t *testing.T) {
	n := startNode(t, nil)
	served := func(addr string) (string, error) {
		d := &net.Dialer{Timeout: 5 * time.Second}
		conn, err := tls.DialWithDialer(d, "tcp", addr, n.pki.clientTLS(t, "", ""))
		if err != nil {
			return "", err
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].Subject.CommonName, nil
	}
	for _, ln := range []int{lnSSL, lnSASLSSL} {
		if cn, err := served(n.addrs[ln]); err != nil || cn != "broker" {
			t.Fatalf("before the rotation %s serves %q (%v), want broker", n.addrs[ln], cn, err)
		}
	}
	before := n.saslClient(t, auth.MechanismScramSHA256, adminUser, adminPass)
	ping := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return before.Ping(ctx)
	}
	if err := ping(); err != nil {
		t.Fatal(err)
	}

	// Rewrite the same files, as a certificate manager renewing them would.
	cert, key := n.pki.issue(t, "server", "broker-renewed", time.Now().Add(-time.Hour), time.Now().Add(48*time.Hour), true)
	if cert != n.pki.certFile || key != n.pki.keyFile {
		t.Fatalf("renewed into %s, %s; want the broker's files %s, %s", cert, key, n.pki.certFile, n.pki.keyFile)
	}
	later := time.Now().Add(time.Minute) // a modification time the reloader cannot miss
	for _, f := range []string{cert, key} {
		if err := os.Chtimes(f, later, later); err != nil {
			t.Fatal(err)
		}
	}
	for _, ln := range []int{lnSSL, lnSASLSSL} {
		deadline := time.Now().Add(15 * time.Second)
		for {
			cn, err := served(n.addrs[ln])
			if err == nil && cn == "broker-renewed" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("15s after the rotation %s serves %q (%v), want broker-renewed", n.addrs[ln], cn, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if err := ping(); err != nil {
		t.Fatalf("the client connected before the rotation: %v", err)
	}
	// And new SASL_SSL clients authenticate against the new certificate.
	if err := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return n.saslClient(t, auth.MechanismScramSHA512, adminUser, adminPass).Ping(ctx)
	}(); err != nil {
		t.Fatalf("new client after the rotation: %v", err)
	}
}
