package platform

import (
	"crypto/subtle"
	"net"
	"net/http"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/auth"
)

// httpAuthorizer is what the HTTP API needs from the broker to authenticate
// basic auth against the SCRAM users and to apply the Kafka ACLs; found by
// type assertion, so test brokers need not implement it.
type httpAuthorizer interface {
	CheckPassword(user, password string) bool
	Authorized(p auth.Principal, host string, op kmsg.ACLOperation, res auth.Resource) bool
}

// withAuth wraps the HTTP routes: with security.http_auth on, a request needs
// a bearer token from security.http_tokens or basic auth as a SCRAM user, and
// then the same ACLs as Kafka clients: DESCRIBE on the cluster to read, ALTER
// to change. /metrics and /healthz, /readyz stay open unless
// security.http_protect_metrics / http_protect_health say otherwise.
func (n *Node) withAuth(h http.Handler) http.Handler {
	sec := n.cfg.Security
	if !sec.httpAuthOn() {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case PathMetrics:
			if !sec.HTTPProtectMetrics {
				h.ServeHTTP(w, r)
				return
			}
		case PathHealthz, PathReadyz:
			if !sec.HTTPProtectHealth {
				h.ServeHTTP(w, r)
				return
			}
		}
		p, ok := n.httpPrincipal(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="tributary"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		op := kmsg.ACLOperationDescribe
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			op = kmsg.ACLOperationAlter
		}
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		if az, ok := n.broker.(httpAuthorizer); ok && !az.Authorized(p, host, op, auth.Cluster()) {
			n.logger.Info("authorization denied", "principal", p.String(), "operation", op.String(),
				"resource", auth.Cluster().String(), "http", r.Method+" "+r.URL.Path, "remote", r.RemoteAddr)
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// httpPrincipal authenticates a request by bearer token or basic auth.
func (n *Node) httpPrincipal(r *http.Request) (auth.Principal, bool) {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		var found string
		for t, p := range n.cfg.Security.HTTPTokens {
			// Compare every token in constant time, so timing does not leak one.
			if subtle.ConstantTimeCompare([]byte(t), []byte(tok)) == 1 {
				found = p
			}
		}
		if found == "" {
			return auth.Principal{}, false
		}
		p, err := auth.ParsePrincipal(found)
		return p, err == nil
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return auth.Principal{}, false
	}
	az, ok := n.broker.(httpAuthorizer)
	if !ok || !az.CheckPassword(user, pass) {
		return auth.Principal{}, false
	}
	return auth.User(user), true
}
