package e2e

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/tributary-io/tributary/broker/auth/authtest"
)

// testPKI is a CA with a server certificate for 127.0.0.1 and client
// certificates, written as PEM files by authtest.
type testPKI struct {
	*authtest.PKI
	caFile   string
	certFile string
	keyFile  string
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	p := &testPKI{PKI: authtest.NewPKI(t)}
	p.caFile = p.CAFile()
	p.certFile, p.keyFile = p.issue(t, "server", "broker", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour), true)
	return p
}

// issue signs a certificate for cn valid in [from, to] as file.pem and
// file-key.pem; server certificates name 127.0.0.1 and localhost, the others
// are client certificates. It returns the cert and key files.
func (p *testPKI) issue(t *testing.T, file, cn string, from, to time.Time, server bool) (string, string) {
	t.Helper()
	usage := authtest.Client
	if server {
		usage = authtest.Server
	}
	return p.Issue(t, cn, authtest.CertOptions{Usage: usage, NotBefore: from, NotAfter: to, File: file})
}

// clientTLS trusts the test CA, expects the server certificate for 127.0.0.1
// and, with certFile, presents a client certificate.
func (p *testPKI) clientTLS(t *testing.T, certFile, keyFile string) *tls.Config {
	t.Helper()
	cfg := p.ClientTLS(t, certFile, keyFile)
	cfg.ServerName = "127.0.0.1"
	return cfg
}
