package platform

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker"
	"github.com/tributary-io/tributary/broker/auth"
)

// authBroker is a broker with one SCRAM user (alice/pw) whose ACLs allow
// User:ops everything and User:alice only DESCRIBE.
type authBroker struct{}

func (authBroker) Start(context.Context) error { return nil }
func (authBroker) Addrs() []net.Addr {
	return []net.Addr{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9092}}
}
func (authBroker) Shutdown(context.Context) error       { return nil }
func (authBroker) CheckPassword(user, pass string) bool { return user == "alice" && pass == "pw" }
func (authBroker) Authorized(p auth.Principal, _ string, op kmsg.ACLOperation, _ auth.Resource) bool {
	return p == auth.User("ops") || (p == auth.User("alice") && op == kmsg.ACLOperationDescribe)
}

func TestHTTPAuthentication(t *testing.T) {
	const token = "0123456789abcdef-ops"
	cases := []struct {
		name    string
		cfg     SecuritySection
		method  string
		path    string
		header  map[string]string
		basic   []string
		want    int
		comment string
	}{
		{name: "metrics open by default", cfg: SecuritySection{Authorizer: true}, method: "GET", path: PathMetrics, want: 200},
		{name: "healthz open by default", cfg: SecuritySection{Authorizer: true}, method: "GET", path: PathHealthz, want: 200},
		{name: "metrics protected", cfg: SecuritySection{Authorizer: true, HTTPProtectMetrics: true}, method: "GET", path: PathMetrics, want: 401},
		{name: "healthz protected", cfg: SecuritySection{Authorizer: true, HTTPProtectHealth: true}, method: "GET", path: PathHealthz, want: 401},
		{name: "no credentials", cfg: SecuritySection{Authorizer: true}, method: "GET", path: PathLogLevel, want: 401},
		{name: "bearer token", cfg: SecuritySection{Authorizer: true, HTTPTokens: map[string]string{token: "User:ops"}},
			method: "GET", path: PathLogLevel, header: map[string]string{"Authorization": "Bearer " + token}, want: 200},
		{name: "wrong token", cfg: SecuritySection{Authorizer: true, HTTPTokens: map[string]string{token: "User:ops"}},
			method: "GET", path: PathLogLevel, header: map[string]string{"Authorization": "Bearer nope"}, want: 401},
		{name: "basic auth reads", cfg: SecuritySection{Authorizer: true}, method: "GET", path: PathLogLevel,
			basic: []string{"alice", "pw"}, want: 200},
		{name: "basic auth wrong password", cfg: SecuritySection{Authorizer: true}, method: "GET", path: PathLogLevel,
			basic: []string{"alice", "x"}, want: 401},
		{name: "change needs ALTER", cfg: SecuritySection{Authorizer: true}, method: "PUT", path: PathLogLevel,
			basic: []string{"alice", "pw"}, want: 403},
		{name: "auth off", cfg: SecuritySection{}, method: "GET", path: PathLogLevel, want: 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, err := New(Config{HTTPAddr: "127.0.0.1:0", DataDir: t.TempDir(), Security: c.cfg},
				WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
				withBroker(func(broker.Config) (brokerService, error) { return authBroker{}, nil }))
			if err != nil {
				t.Fatal(err)
			}
			if err := n.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer n.Shutdown(context.Background())
			var body io.Reader
			if c.method == "PUT" {
				body = strings.NewReader(`{"level":"debug"}`)
			}
			req, err := http.NewRequest(c.method, "http://"+n.HTTPAddr().String()+c.path, body)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range c.header {
				req.Header.Set(k, v)
			}
			if c.basic != nil {
				req.SetBasicAuth(c.basic[0], c.basic[1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Fatalf("%s %s: status %d, want %d", c.method, c.path, resp.StatusCode, c.want)
			}
		})
	}
}
