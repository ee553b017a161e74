package plugins

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tributary-io/tributary/sdk"
)

// bins holds the plugin binaries TestMain builds once for the package.
var bins struct {
	dir  string
	echo string // echo 1.0.0
	file string // the file connector, connectors/file
}

func TestMain(m *testing.M) {
	if os.Getenv(envHostHelper) != "" {
		runHostHelper()
		return
	}
	dir, err := os.MkdirTemp("", "plugins-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bins.dir = dir
	bins.echo = filepath.Join(dir, "echo-1.0.0")
	bins.file = filepath.Join(dir, "file")
	err = goBuild(bins.echo, "./testdata/echoplugin", "1.0.0")
	if err == nil {
		err = goBuild(bins.file, "../connectors/file", "")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// goBuild builds the main package pkg into out, setting main.version when
// version is not empty.
func goBuild(out, pkg, version string) error {
	args := []string{"build", "-o", out}
	if version != "" {
		args = append(args, "-ldflags", "-X main.version="+version)
	}
	cmd := exec.Command("go", append(args, pkg)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// buildVersion builds the echo plugin with version into dir under name.
func buildVersion(t *testing.T, dir, name, version string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	if err := goBuild(out, "./testdata/echoplugin", version); err != nil {
		t.Fatal(err)
	}
	return out
}

// install copies the binary src into dir as name.
func install(tb testing.TB, src, dir, name string) {
	tb.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o755); err != nil {
		tb.Fatal(err)
	}
}

// logSink records log records for assertions; safe for concurrent use.
type logSink struct {
	mu      sync.Mutex
	records []logRecord
}

type logRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

type logHandler struct {
	sink  *logSink
	attrs []slog.Attr
}

func (h *logHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &logHandler{sink: h.sink, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}
func (h *logHandler) WithGroup(string) slog.Handler { return h }
func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	for _, a := range h.attrs {
		rec.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		return true
	})
	h.sink.mu.Lock()
	h.sink.records = append(h.sink.records, rec)
	h.sink.mu.Unlock()
	return nil
}

// find returns the first record whose message contains msg.
func (s *logSink) find(msg string) (logRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.records {
		if strings.Contains(r.msg, msg) {
			return r, true
		}
	}
	return logRecord{}, false
}

// testConfig is a Config for a registry over dir with fast timings.
func testConfig(t *testing.T, dir string) Config {
	return Config{
		Dir:               dir,
		Logger:            slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
		MaxWait:           100 * time.Millisecond,
		HeartbeatInterval: 200 * time.Millisecond,
		HeartbeatTimeout:  200 * time.Millisecond,
		Backoff:           ExponentialBackoff{Initial: 10 * time.Millisecond, Max: 200 * time.Millisecond},
	}
}

// testWriter sends log output to t.Log, so it shows only for failures.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// echoRegistry is a discovered registry holding echo 1.0.0.
func echoRegistry(t *testing.T, cfg Config) *Registry {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
		install(t, bins.echo, cfg.Dir, "echo")
	}
	reg, err := NewRegistry(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Discover(context.Background()); err != nil {
		t.Fatal(err)
	}
	return reg
}

// openSource parses raw through the registry and opens a source at pos.
func openSource(t *testing.T, reg *Registry, name string, raw map[string]string, pos sdk.Position) *Source {
	t.Helper()
	ctx := context.Background()
	cfg, err := reg.ParseConfig(ctx, name, sdk.KindSource, raw)
	if err != nil {
		t.Fatal(err)
	}
	src, err := reg.NewSource(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Open(ctx, cfg, pos); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// processGone reports whether pid no longer runs (gone or a zombie).
func processGone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z' || s[i+2] == 'X'
}

const envHostHelper = "TRIBUTARY_PLUGINS_TEST_HOST"

// runHostHelper is the host process of TestPluginExitsWithHost: it opens an
// echo source from the plugin dir in the environment, prints the plugin's
// pid and waits to be killed.
func runHostHelper() {
	reg, err := NewRegistry(Config{Dir: os.Getenv(envHostHelper), Logger: slog.New(slog.DiscardHandler)})
	if err == nil {
		err = reg.Discover(context.Background())
	}
	var src *Source
	if err == nil {
		src, err = reg.NewSource("echo")
	}
	if err == nil {
		spec, _ := reg.plugins["echo"].Spec(sdk.KindSource)
		cfg, _ := spec.Parse(map[string]string{})
		err = src.Open(context.Background(), cfg, nil)
	}
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("pid", src.Stats().PID)
	// Block until killed; reading stdin never ends because the test holds it open.
	bufio.NewReader(os.Stdin).ReadString('\n')
}
