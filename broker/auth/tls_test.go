package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// writeSelfSigned writes a self-signed certificate for 127.0.0.1 named cn.
func writeSelfSigned(t *testing.T, certFile, keyFile, cn string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
}

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
	writeSelfSigned(t, cert, key, "first")
	now := time.Unix(1000, 0)
	r, err := NewCertReloader(TLSFiles{CertFile: cert, KeyFile: key}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	cfg := r.ServerConfig()
	if got := servedCN(t, cfg); got != "first" {
		t.Fatalf("served %q", got)
	}
	writeSelfSigned(t, cert, key, "second")
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
