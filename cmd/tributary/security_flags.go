package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Environment variables for the security flags; the password is better
// passed this way than on a command line other users can read.
const (
	saslMechanismEnv = "TRIBUTARY_SASL_MECHANISM"
	saslUsernameEnv  = "TRIBUTARY_SASL_USERNAME"
	saslPasswordEnv  = "TRIBUTARY_SASL_PASSWORD"
	tlsCAEnv         = "TRIBUTARY_TLS_CA"
)

// securityFlags are the SASL and TLS flags of every client command.
type securityFlags struct {
	mechanism string
	username  string
	password  string
	tls       bool
	ca        string
	cert      string
	key       string
}

// addSecurityFlags registers --sasl-mechanism, --sasl-username,
// --sasl-password, --tls, --tls-ca, --tls-cert and --tls-key on fs.
func addSecurityFlags(fs *flag.FlagSet, c *cli) *securityFlags {
	f := &securityFlags{}
	env := func(name string) string {
		v, _ := c.env(name)
		return v
	}
	fs.StringVar(&f.mechanism, "sasl-mechanism", env(saslMechanismEnv),
		"authenticate with SASL `mechanism` SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN (env "+saslMechanismEnv+")")
	fs.StringVar(&f.username, "sasl-username", env(saslUsernameEnv), "SASL user `name` (env "+saslUsernameEnv+")")
	fs.StringVar(&f.password, "sasl-password", env(saslPasswordEnv), "SASL `password` (env "+saslPasswordEnv+")")
	fs.BoolVar(&f.tls, "tls", false, "connect with TLS (implied by --tls-ca)")
	fs.StringVar(&f.ca, "tls-ca", env(tlsCAEnv), "PEM `file` of the CAs to trust (env "+tlsCAEnv+"); default: the system roots")
	fs.StringVar(&f.cert, "tls-cert", "", "PEM `file` of a client certificate (mTLS)")
	fs.StringVar(&f.key, "tls-key", "", "PEM `file` of the client certificate's key")
	return f
}

// opts returns the kgo options the flags ask for.
func (f *securityFlags) opts() ([]kgo.Opt, error) {
	var opts []kgo.Opt
	switch strings.ToUpper(f.mechanism) {
	case "":
		if f.username != "" || f.password != "" {
			return nil, usageErrorf("--sasl-username/--sasl-password need --sasl-mechanism")
		}
	case "SCRAM-SHA-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: f.username, Pass: f.password}.AsSha256Mechanism()))
	case "SCRAM-SHA-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: f.username, Pass: f.password}.AsSha512Mechanism()))
	case "PLAIN":
		opts = append(opts, kgo.SASL(plain.Auth{User: f.username, Pass: f.password}.AsMechanism()))
	default:
		return nil, usageErrorf("--sasl-mechanism %q: want SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN", f.mechanism)
	}
	if f.mechanism != "" && (f.username == "" || f.password == "") {
		return nil, usageErrorf("--sasl-mechanism %s needs --sasl-username and --sasl-password", f.mechanism)
	}
	if !f.tls && f.ca == "" && f.cert == "" {
		return opts, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if f.ca != "" {
		pem, err := os.ReadFile(f.ca)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s: no PEM certificate in it", f.ca)
		}
	}
	if (f.cert == "") != (f.key == "") {
		return nil, usageErrorf("--tls-cert and --tls-key go together")
	}
	if f.cert != "" {
		c, err := tls.LoadX509KeyPair(f.cert, f.key)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	return append(opts, kgo.DialTLSConfig(cfg)), nil
}
