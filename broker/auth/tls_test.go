package auth

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tributary-io/tributary/broker/auth/authtest"
)

// servedCN handshakes with a server using cfg and returns the certificate's CN.
func servedCN(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = tls.Server(b, cfg).Handshake()
	}()
	c := tls.Client(a, &tls.Config{InsecureSkipVerify: true}) // the test only reads the name
	if err := c.Handshake(); err != nil {
		t.Fatal(err)
	}
	cn := c.ConnectionState().PeerCertificates[0].Subject.CommonName
	// Close the pipe, not the TLS conn: its close_notify would wait for a
	// reader that is gone.
	a.Close()
	b.Close()
	wg.Wait()
	return cn
}

// A rewritten certificate is served from the next handshake after the check
// interval, without a restart; a broken rewrite keeps the last good one.
func TestCertReload(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	authtest.WriteSelfSigned(t, cert, key, "first")
	now := time.Unix(1000, 0)
	r, err := NewCertReloader(TLSFiles{CertFile: cert, KeyFile: key}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	cfg := r.ServerConfig()
	if got := servedCN(t, cfg); got != "first" {
		t.Fatalf("served %q", got)
	}
	authtest.WriteSelfSigned(t, cert, key, "second")
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(cert, later, later); err != nil {
		t.Fatal(err)
	}
	if got := servedCN(t, cfg); got != "first" {
		t.Fatalf("reloaded before the check interval: %q", got)
	}
	now = now.Add(2 * time.Second)
	if got := servedCN(t, cfg); got != "second" {
		t.Fatalf("after rotation served %q", got)
	}
	if err := os.WriteFile(cert, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	latest := later.Add(time.Minute)
	if err := os.Chtimes(cert, latest, latest); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Second)
	if got := servedCN(t, cfg); got != "second" {
		t.Fatalf("after a broken rewrite served %q", got)
	}
	if r.LastError() == nil {
		t.Fatal("broken rewrite not reported")
	}
}
