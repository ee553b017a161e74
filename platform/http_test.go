package platform

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tributary-io/tributary/broker"
	"github.com/tributary-io/tributary/platform/nodetest"
)

// progressBroker is a broker whose start-up steps the test completes one by
// one; it reports them through Readiness like *broker.Broker.
type progressBroker struct {
	mu     sync.Mutex
	checks []broker.ReadyCheck
}

func (p *progressBroker) Start(context.Context) error { return nil }
func (p *progressBroker) Addrs() []net.Addr {
	return []net.Addr{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9092}}
}
func (p *progressBroker) Shutdown(context.Context) error { return nil }

func (p *progressBroker) Readiness() []broker.ReadyCheck {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]broker.ReadyCheck(nil), p.checks...)
}

func (p *progressBroker) set(name string, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.checks {
		if p.checks[i].Name == name {
			p.checks[i].OK = ok
		}
	}
}

func TestReadyzReportsEachCheck(t *testing.T) {
	pb := &progressBroker{checks: []broker.ReadyCheck{{Name: "logs"}, {Name: "metadata"}, {Name: "groups"}}}
	n, err := New(Config{HTTPAddr: "127.0.0.1:0", DataDir: t.TempDir()},
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		withBroker(func(broker.Config) (brokerService, error) { return pb, nil }))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer n.Shutdown(context.Background())
	addr := n.HTTPAddr()

	steps := []struct {
		done     string // check completed before the request; "" for none
		wantCode int
		wantBody []string
	}{
		{"", http.StatusServiceUnavailable, []string{"[-]logs not ready", "[-]metadata not ready", "[-]groups not ready", "not ready"}},
		{"logs", http.StatusServiceUnavailable, []string{"[+]logs ok", "[-]metadata not ready"}},
		{"metadata", http.StatusServiceUnavailable, []string{"[+]metadata ok", "[-]groups not ready"}},
		{"groups", http.StatusOK, []string{"[+]logs ok", "[+]metadata ok", "[+]groups ok", "\nready"}},
	}
	for _, s := range steps {
		if s.done != "" {
			pb.set(s.done, true)
		}
		code, body, err := get(addr, PathReadyz)
		if err != nil {
			t.Fatal(err)
		}
		if code != s.wantCode {
			t.Fatalf("after %q: /readyz = %d, want %d\n%s", s.done, code, s.wantCode, body)
		}
		for _, w := range s.wantBody {
			if !strings.Contains(body, w) {
				t.Errorf("after %q: /readyz body lacks %q:\n%s", s.done, w, body)
			}
		}
	}
	// A step undone again (the broker lost something) makes the node unready.
	pb.set("metadata", false)
	expectStatus(t, addr, PathReadyz, http.StatusServiceUnavailable)
	expectStatus(t, addr, PathHealthz, http.StatusOK)
}

// syncBuffer is a log sink tests search; nodetest.Output is safe for
// concurrent writers.
type syncBuffer = nodetest.Output

func do(t *testing.T, method string, addr net.Addr, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr.String()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func TestLogLevelAtRunTime(t *testing.T) {
	var logs syncBuffer
	cfg := Config{HTTPAddr: "127.0.0.1:0", DataDir: t.TempDir(), LogLevel: "info", LogFormat: "json"}
	logger, level := cfg.NewLevelLogger(&logs)
	fb := newFakeBroker()
	close(fb.releaseStart)
	close(fb.releaseShutdown)
	n, err := New(cfg, WithLogger(logger), WithLogLevel(level),
		withBroker(func(broker.Config) (brokerService, error) { return fb, nil }))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer n.Shutdown(context.Background())
	addr := n.HTTPAddr()

	steps := []struct {
		method, body string
		wantCode     int
		wantBody     string
		debugShown   bool // whether a debug line logged after this step appears
	}{
		{"GET", "", http.StatusOK, "info", false},
		{"PUT", "debug\n", http.StatusOK, "debug", true},
		{"GET", "", http.StatusOK, "debug", true},
		{"PUT", "loud", http.StatusBadRequest, `log level "loud": must be debug, info, warn or error`, true},
		{"PUT", "", http.StatusBadRequest, "send the level as the body: debug, info, warn or error", true},
		{"PUT", strings.Repeat("x", 100), http.StatusBadRequest, "send the level as the body", true},
		{"PUT", " WARN ", http.StatusOK, "warn", false},
	}
	for i, s := range steps {
		code, body := do(t, s.method, addr, PathLogLevel, s.body)
		if code != s.wantCode || !strings.Contains(body, s.wantBody) {
			t.Fatalf("step %d: %s %q = %d %q, want %d %q", i, s.method, s.body, code, body, s.wantCode, s.wantBody)
		}
		marker := "probe-" + string(rune('a'+i))
		n.logger.Debug(marker)
		if got := strings.Contains(logs.String(), marker); got != s.debugShown {
			t.Fatalf("step %d: debug line shown = %v, want %v", i, got, s.debugShown)
		}
	}
	if !strings.Contains(logs.String(), `"msg":"log level changed","from":"debug","to":"warn"`) {
		t.Fatalf("the change itself was not logged:\n%s", logs.String())
	}
}
