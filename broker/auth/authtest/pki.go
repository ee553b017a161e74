package authtest

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
	"testing"
	"time"
)

// Organization is the O= of every certificate a PKI issues, so a client
// certificate for CN alice authenticates as the principal
// "User:CN=alice,O=tributary".
const Organization = "tributary"

// Usage says what a certificate may be used for.
type Usage int

const (
	// Client certificates authenticate a client (extended key usage
	// clientAuth). The zero Usage.
	Client Usage = iota
	// Server certificates serve TLS for 127.0.0.1 and localhost (extended
	// key usage serverAuth).
	Server
	// ServerAndClient certificates do both, as a broker's node certificate
	// does when it serves clients and dials its peers.
	ServerAndClient
)

// CertOptions are the optional settings of PKI.Issue.
type CertOptions struct {
	// Usage is what the certificate is for; default Client.
	Usage Usage
	// NotBefore and NotAfter bound the validity window; default from an hour
	// ago to a day ahead. Set both to make an expired or a not yet valid
	// certificate.
	NotBefore, NotAfter time.Time
	// File names the PEM files under the PKI's folder: File.pem and
	// File-key.pem; default the common name. A later certificate of the same
	// File replaces the files.
	File string
}

// PKI is a test certificate authority whose certificate and the certificates
// it issues are PEM files in one folder that the test removes when it ends.
// Its methods may be called from parallel subtests.
type PKI struct {
	dir    string
	caFile string
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	pool   *x509.CertPool
}

// NewPKI makes a CA (CN "tributary test CA", valid from an hour ago to a day
// ahead) in a new temporary folder of t and writes its certificate as ca.pem.
func NewPKI(t testing.TB) *PKI {
	t.Helper()
	p := &PKI{dir: t.TempDir()}
	p.caKey = newKey(t)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: "tributary test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &p.caKey.PublicKey, p.caKey)
	if err != nil {
		t.Fatalf("create test CA: %v", err)
	}
	if p.ca, err = x509.ParseCertificate(der); err != nil {
		t.Fatalf("parse test CA: %v", err)
	}
	p.caFile = writePEM(t, filepath.Join(p.dir, "ca.pem"), "CERTIFICATE", der)
	p.pool = x509.NewCertPool()
	p.pool.AddCert(p.ca)
	return p
}

// Dir is the folder holding the PEM files.
func (p *PKI) Dir() string { return p.dir }

// CAFile is the path of the CA certificate's PEM file.
func (p *PKI) CAFile() string { return p.caFile }

// Pool is a certificate pool holding only the CA, for RootCAs or ClientCAs.
func (p *PKI) Pool() *x509.CertPool { return p.pool }

// Issue signs a certificate for the common name cn (organization
// Organization) and returns the paths of its certificate and key PEM files.
func (p *PKI) Issue(t testing.TB, cn string, o CertOptions) (certFile, keyFile string) {
	t.Helper()
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{Organization}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if !o.NotBefore.IsZero() {
		tmpl.NotBefore = o.NotBefore
	}
	if !o.NotAfter.IsZero() {
		tmpl.NotAfter = o.NotAfter
	}
	switch o.Usage {
	case Server:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	case ServerAndClient:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	default:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	if o.Usage == Server || o.Usage == ServerAndClient {
		loopback(tmpl)
	}
	name := o.File
	if name == "" {
		name = cn
	}
	key := newKey(t)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatalf("issue certificate for %q: %v", cn, err)
	}
	return writePair(t, filepath.Join(p.dir, name+".pem"), filepath.Join(p.dir, name+"-key.pem"), der, key)
}

// ClientTLS is a client configuration (TLS 1.2 or later) trusting only the
// CA. With a certFile and keyFile (from Issue) it presents that certificate;
// with both empty it presents none. It leaves ServerName empty for the
// dialer to fill in from the address.
func (p *PKI) ClientTLS(t testing.TB, certFile, keyFile string) *tls.Config {
	t.Helper()
	cfg := &tls.Config{RootCAs: p.pool, MinVersion: tls.VersionTLS12}
	if certFile != "" || keyFile != "" {
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatalf("load client certificate: %v", err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	return cfg
}

// WriteSelfSigned writes a self-signed server certificate for 127.0.0.1 and
// localhost with the common name cn, valid from an hour ago to an hour ahead,
// to certFile and keyFile, replacing what they held: a test of certificate
// reload rewrites the same files.
func WriteSelfSigned(t testing.TB, certFile, keyFile, cn string) {
	t.Helper()
	key := newKey(t)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	loopback(tmpl)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("create self-signed certificate for %q: %v", cn, err)
	}
	writePair(t, certFile, keyFile, der, key)
}

// loopback names the addresses the tests listen on.
func loopback(tmpl *x509.Certificate) {
	tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	tmpl.DNSNames = []string{"localhost"}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	return k
}

// serial is a random positive serial number of at most 128 bits, so the certificates of one CA
// (and of two CAs in one test) never share one and no counter is shared
// between parallel subtests.
func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatalf("serial number: %v", err)
	}
	return n.Add(n, big.NewInt(1)) // x509 wants it positive
}

func writePair(t testing.TB, certFile, keyFile string, der []byte, key *ecdsa.PrivateKey) (string, string) {
	t.Helper()
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatalf("marshal key: %v", err)
	}
	return writePEM(t, certFile, "CERTIFICATE", der), writePEM(t, keyFile, "EC PRIVATE KEY", kder)
}

func writePEM(t testing.TB, path, typ string, der []byte) string {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	return path
}
