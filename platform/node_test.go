package platform

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/broker"
)

// fakeBroker blocks in Start and Shutdown until the test releases it, so the
// test can look at the HTTP server in between.
type fakeBroker struct {
	startEntered, shutdownEntered chan struct{}
	releaseStart, releaseShutdown chan struct{}
	startErr                      error
	gotConfig                     broker.Config
}

func newFakeBroker() *fakeBroker {
	return &fakeBroker{
		startEntered: make(chan struct{}), shutdownEntered: make(chan struct{}),
		releaseStart: make(chan struct{}), releaseShutdown: make(chan struct{}),
	}
}

func (f *fakeBroker) Start(ctx context.Context) error {
	close(f.startEntered)
	select {
	case <-f.releaseStart:
		return f.startErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeBroker) Addrs() []net.Addr {
	return []net.Addr{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9092}}
}

func (f *fakeBroker) Shutdown(ctx context.Context) error {
	close(f.shutdownEntered)
	select {
	case <-f.releaseShutdown:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func newTestNode(t *testing.T, fb *fakeBroker) *Node {
	t.Helper()
	cfg := Config{HTTPAddr: "127.0.0.1:0", DataDir: t.TempDir(), TopicDefaults: map[string]string{"retention.ms": "42"}}
	n, err := New(cfg,
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		withBroker(func(bc broker.Config) (brokerService, error) { fb.gotConfig = bc; return fb, nil }))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitFor polls fn until it returns true or the deadline passes.
func waitFor(t *testing.T, what string, fn func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !fn() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func get(addr net.Addr, path string) (int, string, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr.String() + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), err
}

func expectStatus(t *testing.T, addr net.Addr, path string, want int) {
	t.Helper()
	code, body, err := get(addr, path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if code != want {
		t.Fatalf("GET %s = %d %q, want %d", path, code, body, want)
	}
}

func TestNodeLifecycleOrder(t *testing.T) {
	fb := newFakeBroker()
	n := newTestNode(t, fb)
	if fb.gotConfig.LogDefaults.RetentionMs != 42 {
		t.Fatalf("broker got retention.ms %d, want the topic default 42", fb.gotConfig.LogDefaults.RetentionMs)
	}

	started := make(chan error, 1)
	go func() { started <- n.Start(context.Background()) }()
	<-fb.startEntered
	// The broker is still starting: alive but not ready.
	addr := n.HTTPAddr()
	expectStatus(t, addr, "/healthz", http.StatusOK)
	expectStatus(t, addr, "/readyz", http.StatusServiceUnavailable)

	close(fb.releaseStart)
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	expectStatus(t, addr, "/readyz", http.StatusOK)
	if _, body, _ := get(addr, "/healthz"); body != "ok" {
		t.Fatalf("/healthz body %q, want ok", body)
	}

	stopped := make(chan error, 1)
	go func() { stopped <- n.Shutdown(context.Background()) }()
	<-fb.shutdownEntered
	// The broker drains first; HTTP still answers, and says not ready.
	expectStatus(t, addr, "/readyz", http.StatusServiceUnavailable)
	close(fb.releaseShutdown)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if _, _, err := get(addr, "/healthz"); err == nil {
		t.Fatal("HTTP server still answers after Shutdown")
	}
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
}

func TestNodeStartFailureStopsHTTP(t *testing.T) {
	fb := newFakeBroker()
	fb.startErr = errors.New("disk on fire")
	n := newTestNode(t, fb)
	close(fb.releaseStart)
	err := n.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "start broker: disk on fire") {
		t.Fatalf("Start error = %v", err)
	}
	if _, _, err := get(n.HTTPAddr(), "/healthz"); err == nil {
		t.Fatal("HTTP server still answers after a failed Start")
	}
}

func TestNodeStartHTTPPortBusy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	fb := newFakeBroker()
	n, err := New(Config{HTTPAddr: ln.Addr().String()},
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		withBroker(func(broker.Config) (brokerService, error) { return fb, nil }))
	if err != nil {
		t.Fatal(err)
	}
	err = n.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "listen for HTTP") {
		t.Fatalf("Start error = %v, want a listen error", err)
	}
	select {
	case <-fb.startEntered:
		t.Fatal("broker started although HTTP could not listen")
	default:
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	_, err := New(Config{LogFormat: "xml", NodeID: -4})
	if err == nil || !strings.Contains(err.Error(), "log_format") || !strings.Contains(err.Error(), "node_id") {
		t.Fatalf("New error = %v, want both problems", err)
	}
}
