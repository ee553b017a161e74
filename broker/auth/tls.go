package auth

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// ClientAuth is ssl.client.auth.
type ClientAuth string

// The ssl.client.auth values.
const (
	ClientAuthNone      ClientAuth = "none"
	ClientAuthRequested ClientAuth = "requested"
	ClientAuthRequired  ClientAuth = "required"
)

// TLSFiles names the PEM files of a TLS listener.
type TLSFiles struct {
	// CertFile and KeyFile are the server certificate chain and its key.
	CertFile string
	KeyFile  string
	// CAFile holds the CAs that sign client certificates (mTLS); empty: none.
	CAFile string
	// ClientAuth says whether clients must present a certificate. Default none.
	ClientAuth ClientAuth
}

// Validate returns every problem at once.
func (f TLSFiles) Validate() error {
	var errs []error
	if f.CertFile == "" || f.KeyFile == "" {
		errs = append(errs, errors.New("tls: cert file and key file are required"))
	}
	switch f.ClientAuth {
	case "", ClientAuthNone:
	case ClientAuthRequested, ClientAuthRequired:
		if f.CAFile == "" {
			errs = append(errs, fmt.Errorf("tls: client auth %q needs a CA file", f.ClientAuth))
		}
	default:
		errs = append(errs, fmt.Errorf("tls: client auth %q (want none, requested or required)", f.ClientAuth))
	}
	return errors.Join(errs...)
}

// CertReloader serves a TLS configuration whose certificate, key and client
// CAs are reread from their files when they change, so certificates rotate
// without a restart. Files are checked at most once per CheckInterval, on the
// handshake that comes after it (no goroutine); a failed reload keeps the
// last good material and is reported by Reload.
type CertReloader struct {
	files TLSFiles
	// checkInterval bounds how often files are stat'ed. Default 1s.
	checkInterval time.Duration
	now           func() time.Time

	mu        sync.Mutex
	cfg       *tls.Config
	stamps    [3]time.Time // mtimes of cert, key, CA when loaded
	lastCheck time.Time
	lastErr   error
}

// NewCertReloader loads files once (an error here is a config error) and
// returns the reloader. now may be nil (time.Now).
func NewCertReloader(files TLSFiles, now func() time.Time) (*CertReloader, error) {
	if err := files.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	r := &CertReloader{files: files, checkInterval: time.Second, now: now}
	if err := r.Reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// ServerConfig returns the listener's tls.Config: every handshake gets the
// current material through GetConfigForClient.
func (r *CertReloader) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return r.current(), nil
		},
	}
}

// current returns the loaded config, reloading first when the files changed.
func (r *CertReloader) current() *tls.Config {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if now.Sub(r.lastCheck) >= r.checkInterval {
		r.lastCheck = now
		if stamps, err := r.stat(); err == nil && stamps != r.stamps {
			r.lastErr = r.reloadLocked()
		}
	}
	return r.cfg
}

// Reload rereads the files now. On error the previous material stays in use.
func (r *CertReloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastErr = r.reloadLocked()
	return r.lastErr
}

// LastError is the error of the most recent reload attempt (nil after success).
func (r *CertReloader) LastError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastErr
}

func (r *CertReloader) stat() ([3]time.Time, error) {
	var out [3]time.Time
	for i, name := range []string{r.files.CertFile, r.files.KeyFile, r.files.CAFile} {
		if name == "" {
			continue
		}
		fi, err := os.Stat(name)
		if err != nil {
			return out, fmt.Errorf("stat %s: %w", name, err)
		}
		out[i] = fi.ModTime()
	}
	return out, nil
}

func (r *CertReloader) reloadLocked() error {
	stamps, err := r.stat()
	if err != nil {
		return fmt.Errorf("tls reload: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(r.files.CertFile, r.files.KeyFile)
	if err != nil {
		return fmt.Errorf("tls reload: load %s and %s: %w", r.files.CertFile, r.files.KeyFile, err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if r.files.CAFile != "" {
		pem, err := os.ReadFile(r.files.CAFile)
		if err != nil {
			return fmt.Errorf("tls reload: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("tls reload: %s holds no PEM certificate", r.files.CAFile)
		}
		cfg.ClientCAs = pool
	}
	switch r.files.ClientAuth {
	case ClientAuthRequired:
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	case ClientAuthRequested:
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	default:
		cfg.ClientAuth = tls.NoClientCert
	}
	r.cfg = cfg
	r.stamps = stamps
	return nil
}

// CertPrincipal is the principal of a verified client certificate: "User:"
// plus the subject's distinguished name (Kafka's default SSL principal).
func CertPrincipal(cs tls.ConnectionState) (Principal, bool) {
	if len(cs.PeerCertificates) == 0 {
		return Principal{}, false
	}
	return User(cs.PeerCertificates[0].Subject.String()), true
}
