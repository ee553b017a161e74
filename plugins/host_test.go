package plugins

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tributary-io/tributary/plugins/internal/echo"
	"github.com/tributary-io/tributary/sdk"
	"github.com/tributary-io/tributary/sdk/sdktest"
)

func TestDiscover(t *testing.T) {
	dir := t.TempDir()
	install(t, bins.echo, dir, "echo")
	buildVersion(t, dir, "echo-2", "2.0.0")
	install(t, bins.echo, dir, ".hidden-echo")
	buildVersion(t, dir, "echo-bad", "1.0")
	if err := os.WriteFile(filepath.Join(dir, "notaplugin"), []byte("#!/bin/sh\necho hello\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("not executable"), 0o644); err != nil {
		t.Fatal(err)
	}
	reg, err := NewRegistry(testConfig(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	err = reg.Discover(context.Background())
	// The two broken binaries are reported; the good ones are usable anyway.
	if err == nil || !strings.Contains(err.Error(), "echo-bad") || !strings.Contains(err.Error(), "notaplugin") {
		t.Fatalf("Discover error = %v, want one naming echo-bad and notaplugin", err)
	}
	if strings.Contains(err.Error(), "README") || strings.Contains(err.Error(), "hidden") {
		t.Fatalf("Discover tried files it should skip: %v", err)
	}
	ms := reg.Plugins()
	if len(ms) != 1 {
		t.Fatalf("plugins = %v, want echo only", ms)
	}
	m := ms[0]
	if m.Name != "echo" || m.Version.String() != "2.0.0" || m.Path != filepath.Join(dir, "echo-2") {
		t.Fatalf("echo = %s %s at %s, want the highest version, 2.0.0 from echo-2", m.Name, m.Version, m.Path)
	}
	if !m.Has(sdk.KindSource) || !m.Has(sdk.KindSink) || m.SDKVersion.String() != sdk.SDKVersion {
		t.Fatalf("manifest = %+v", m)
	}
	if f, ok := m.SourceSpec.Field("count"); !ok || f.Type != sdk.Int {
		t.Fatalf("source spec lacks count: %+v", m.SourceSpec)
	}

	// The same version twice is ambiguous and reported.
	dup := t.TempDir()
	install(t, bins.echo, dup, "a")
	install(t, bins.echo, dup, "b")
	reg, _ = NewRegistry(testConfig(t, dup))
	if err := reg.Discover(context.Background()); err == nil || !strings.Contains(err.Error(), "both") {
		t.Fatalf("duplicate versions: %v", err)
	}
	if _, ok := reg.Plugin("echo"); !ok {
		t.Fatal("a duplicated plugin is still usable")
	}

	// A missing directory is no plugins, not an error.
	reg, _ = NewRegistry(testConfig(t, filepath.Join(dir, "nope")))
	if err := reg.Discover(context.Background()); err != nil || len(reg.Plugins()) != 0 {
		t.Fatalf("missing dir: %v, %v", err, reg.Plugins())
	}
	if _, err := reg.NewSource("echo"); !errors.Is(err, ErrUnknownPlugin) {
		t.Fatalf("NewSource of an unknown plugin: %v", err)
	}
}

func TestInvalidConfigListsEveryProblem(t *testing.T) {
	reg := echoRegistry(t, testConfig(t, ""))
	raw := map[string]string{"count": "-1", "value.bytes": "lots", "read.delay": "soon", "bogus": "1"}
	_, err := reg.ParseConfig(context.Background(), "echo", sdk.KindSource, raw)
	problems := sdk.Problems(err)
	got := map[string]string{}
	for _, p := range problems {
		got[p.Field] = p.Value + ": " + p.Reason
	}
	want := map[string]string{
		"bogus":       "1: unknown field",
		"count":       "-1: must be at least 0",
		"value.bytes": "lots: not a size (like 512, 64KiB, 10MB)",
		"read.delay":  "soon: not a duration (like 250ms, 10s, 1h)",
	}
	if len(got) != len(want) {
		t.Fatalf("problems = %v, want %v", problems, want)
	}
	for f, w := range want {
		if got[f] != w {
			t.Errorf("problem for %s = %q, want %q", f, got[f], w)
		}
	}
	if !strings.Contains(err.Error(), "4 problems") {
		t.Errorf("error text %q does not count the problems", err)
	}
	// The plugin's own cross-field hook runs too.
	_, err = reg.ParseConfig(context.Background(), "echo", sdk.KindSource, map[string]string{"value.bytes": "3"})
	if ps := sdk.Problems(err); len(ps) != 1 || ps[0].Reason != "smaller than a value without padding" {
		t.Fatalf("hook problems = %v", ps)
	}
	if _, err := reg.ParseConfig(context.Background(), "echo", sdk.KindSink, map[string]string{}); len(sdk.Problems(err)) != 1 {
		t.Fatalf("sink without path: %v", err)
	}
}

func TestEchoMovesRecords(t *testing.T) {
	reg := echoRegistry(t, testConfig(t, ""))
	ctx := context.Background()
	src := openSource(t, reg, "echo", map[string]string{"count": "1000"}, nil)
	recs := sdktest.ReadN(t, src, 1000, 300, 20*time.Second)
	for i, r := range recs {
		if string(r.Value) != string(echo.Value("rec", uint64(i), 0)) || string(r.Key) != string(echo.Value("", uint64(i), 0)[1:]) {
			t.Fatalf("record %d = %q/%q", i, r.Key, r.Value)
		}
		if h, ok := r.HeaderValue("echo"); !ok || string(h) != "1" {
			t.Fatalf("record %d lost its header: %v", i, r.Headers)
		}
		if binary.BigEndian.Uint64(r.Position) != uint64(i+1) {
			t.Fatalf("record %d position %x", i, r.Position)
		}
	}
	if err := src.Commit(ctx, []sdk.Position{recs[999].Position}); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(t.TempDir(), "out.txt")
	sinkCfg, err := reg.ParseConfig(ctx, "echo", sdk.KindSink, map[string]string{"path": out})
	if err != nil {
		t.Fatal(err)
	}
	sink, err := reg.NewSink("echo")
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Open(ctx, sinkCfg); err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	if err := sink.Write(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if err := sink.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 1000 || lines[0] != "rec-0" || lines[999] != "rec-999" {
		t.Fatalf("sink file has %d lines, first %q", len(lines), lines[0])
	}
	pid := sink.Stats().PID
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the sink's process to exit after Close", func() bool { return processGone(pid) })
	if err := sink.Write(ctx, recs[:1]); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
}

// registryTarget runs the sdktest suites against plugins started by a Registry.
type registryTarget struct {
	reg  *Registry
	name string
}

func (r registryTarget) Spec(kind sdk.Kind) (sdk.ConfigSpec, bool) {
	m, _ := r.reg.Plugin(r.name)
	return m.Spec(kind)
}

func (r registryTarget) Validate(ctx context.Context, kind sdk.Kind, raw map[string]string) ([]sdk.Problem, error) {
	return r.reg.Validate(ctx, r.name, kind, raw)
}

func (r registryTarget) NewSource() (sdk.Source, error) { return r.reg.NewSource(r.name) }
func (r registryTarget) NewSink() (sdk.Sink, error)     { return r.reg.NewSink(r.name) }

func TestEchoConformanceOverTheWire(t *testing.T) {
	reg := echoRegistry(t, testConfig(t, ""))
	target := registryTarget{reg, "echo"}
	t.Run("source", func(t *testing.T) {
		sdktest.RunSourceSuite(t, target, sdktest.SourceSuite{
			Setup: func(t *testing.T) sdktest.SourceFixture {
				return sdktest.SourceFixture{Config: map[string]string{"prefix": "c"}}
			},
			Invalid: []sdktest.InvalidConfig{{Name: "padding too small", Config: map[string]string{"value.bytes": "2"}, Fields: []string{"value.bytes"}}},
		})
	})
	t.Run("sink", func(t *testing.T) {
		sdktest.RunSinkSuite(t, target, sdktest.SinkSuite{
			Setup: func(t *testing.T) sdktest.SinkFixture {
				path := filepath.Join(t.TempDir(), "out")
				return sdktest.SinkFixture{
					Config: map[string]string{"path": path},
					Written: func(t *testing.T) [][]byte {
						b, err := os.ReadFile(path)
						if err != nil {
							t.Fatal(err)
						}
						var out [][]byte
						for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
							out = append(out, []byte(l))
						}
						return out
					},
				}
			},
		})
	})
}

func TestPluginOutputReachesHostLog(t *testing.T) {
	logs := &logSink{}
	cfg := testConfig(t, "")
	cfg.Logger = slog.New(&logHandler{sink: logs})
	reg := echoRegistry(t, cfg)
	openSource(t, reg, "echo", map[string]string{"say": "hello"}, nil)
	cases := []struct {
		msg   string
		level slog.Level
		attr  string
		value string
	}{
		{"stdout: hello", slog.LevelInfo, "stream", "stdout"},
		{"stderr: hello", slog.LevelWarn, "stream", "stderr"},
		// A log record of the plugin keeps its level and attributes.
		{"log: hello", slog.LevelInfo, "attr", "42"},
	}
	for _, c := range cases {
		var rec logRecord
		waitFor(t, 10*time.Second, "log line "+c.msg, func() bool {
			var ok bool
			rec, ok = logs.find(c.msg)
			return ok
		})
		if rec.level != c.level || rec.attrs[c.attr] != c.value {
			t.Errorf("%q logged at %v with %v, want %v and %s=%s", c.msg, rec.level, rec.attrs, c.level, c.attr, c.value)
		}
	}
}

func TestMessagesLargerThanGRPCDefault(t *testing.T) {
	cfg := testConfig(t, "")
	cfg.MaxMessageBytes = 8 << 20
	reg := echoRegistry(t, cfg)
	ctx := context.Background()
	// 6 MiB values: each is above gRPC's default 4 MiB limit, and two do
	// not fit one 8 MiB batch, so every call carries exactly one.
	src := openSource(t, reg, "echo", map[string]string{"count": "3", "value.bytes": "6MiB"}, nil)
	var recs []sdk.Record
	for len(recs) < 3 {
		got, err := src.Read(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Fatalf("a read carried %d records of 6 MiB under an 8 MiB limit", len(got))
		}
		recs = append(recs, got...)
	}
	for i, r := range recs {
		if len(r.Value) != 6<<20 {
			t.Fatalf("record %d has %d bytes", i, len(r.Value))
		}
	}
	out := filepath.Join(t.TempDir(), "big")
	sinkCfg, err := reg.ParseConfig(ctx, "echo", sdk.KindSink, map[string]string{"path": out})
	if err != nil {
		t.Fatal(err)
	}
	sink, err := reg.NewSink("echo")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	if err := sink.Open(ctx, sinkCfg); err != nil {
		t.Fatal(err)
	}
	if err := sink.Write(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if err := sink.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(out)
	if err != nil || st.Size() != 3*(6<<20+1) {
		t.Fatalf("sink file: %v, %v", st, err)
	}
}

func TestPluginExitsWithHost(t *testing.T) {
	dir := t.TempDir()
	install(t, bins.echo, dir, "echo")
	host := exec.Command(os.Args[0], "-test.run=^$")
	host.Env = append(os.Environ(), envHostHelper+"="+dir)
	stdin, err := host.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := host.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	defer host.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("host helper: %v", err)
	}
	var pid int
	if _, err := fmt.Sscanf(strings.TrimSpace(line), "pid %d", &pid); err != nil || pid == 0 {
		t.Fatalf("host helper said %q", line)
	}
	if processGone(pid) {
		t.Fatalf("plugin %d is not running while its host is", pid)
	}
	if err := host.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = host.Wait()
	waitFor(t, 10*time.Second, "the plugin to exit after its host was killed", func() bool { return processGone(pid) })
}

func TestCrashedSourceResumesFromCommitted(t *testing.T) {
	cfg := testConfig(t, "")
	var hooked atomic.Int64 // OnFailure calls for echo (the metrics hook)
	cfg.OnFailure = func(plugin string) {
		if plugin == "echo" {
			hooked.Add(1)
		}
	}
	reg := echoRegistry(t, cfg)
	ctx := context.Background()
	src := openSource(t, reg, "echo", map[string]string{}, nil)
	// The loop of a connector task: read a batch, "store" it, commit it. A
	// failure voids the batch in flight. Kills land between or during reads.
	var topic []uint64
	kills, failures := 0, 0
	const want = 3000
	deadline := time.Now().Add(60 * time.Second)
	for len(topic) < want && time.Now().Before(deadline) {
		if len(topic) > (kills+1)*want/4 && kills < 3 {
			if err := syscall.Kill(src.Stats().PID, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			kills++
		}
		recs, err := src.Read(ctx, 100)
		if errors.Is(err, ErrPluginFailed) {
			failures++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			continue
		}
		positions := make([]sdk.Position, len(recs))
		for i, r := range recs {
			n, err := echo.Index("rec", r.Value)
			if err != nil {
				t.Fatal(err)
			}
			topic = append(topic, n)
			positions[i] = r.Position
		}
		if err := src.Commit(ctx, positions); err != nil {
			t.Fatal(err)
		}
	}
	if len(topic) < want {
		t.Fatalf("committed %d records before the deadline", len(topic))
	}
	for i, n := range topic {
		if n != uint64(i) {
			t.Fatalf("committed record %d is rec-%d: lost or duplicated records around it", i, n)
		}
	}
	if st := src.Stats(); kills != 3 || failures < 3 || st.Restarts < 3 || hooked.Load() < int64(kills) || hooked.Load() > int64(failures) {
		t.Fatalf("kills %d, failures seen %d, restarts %d, OnFailure calls %d (want between kills and failures)", kills, failures, st.Restarts, hooked.Load())
	}
}

func TestHungPluginIsKilledAndRestarted(t *testing.T) {
	cfg := testConfig(t, "")
	cfg.HeartbeatInterval, cfg.HeartbeatTimeout, cfg.HeartbeatMisses = 50*time.Millisecond, 50*time.Millisecond, 2
	reg := echoRegistry(t, cfg)
	ctx := context.Background()
	src := openSource(t, reg, "echo", map[string]string{}, nil)
	pid := readCommitSignal(t, src, 4, syscall.SIGSTOP)
	// The stopped plugin cannot answer; the read fails once the heartbeats
	// give up and the host kills it.
	start := time.Now()
	var err error
	for err == nil && time.Since(start) < 10*time.Second {
		_, err = src.Read(ctx, 1)
	}
	if !errors.Is(err, ErrPluginFailed) || !strings.Contains(err.Error(), "heartbeat") {
		t.Fatalf("read from a stopped plugin: %v", err)
	}
	waitFor(t, 5*time.Second, "the stopped plugin to be killed", func() bool { return processGone(pid) })
	again := sdktest.ReadN(t, src, 3, 3, 10*time.Second)
	if string(again[0].Value) != "rec-5" {
		t.Fatalf("after the restart the source read %q, want rec-5 (after the committed rec-4)", again[0].Value)
	}
	if src.Stats().PID == pid {
		t.Fatal("the plugin was not restarted")
	}
}

// scaledClock runs time faster than real and records every wait.
type scaledClock struct {
	div   time.Duration
	waits chan time.Duration
}

func (c *scaledClock) Now() time.Time { return time.Now() }
func (c *scaledClock) After(d time.Duration) <-chan time.Time {
	select {
	case c.waits <- d:
	default:
	}
	return time.After(d / c.div)
}

// recordingBackoff records the attempts it is asked about.
type recordingBackoff struct {
	inner    Backoff
	attempts chan int
}

func (b recordingBackoff) Delay(n int) time.Duration {
	b.attempts <- n
	return b.inner.Delay(n)
}

func TestRestartBackoffGrows(t *testing.T) {
	cfg := testConfig(t, "")
	cfg.HeartbeatInterval = time.Hour // keep heartbeats out of the recorded waits
	clock := &scaledClock{div: 100, waits: make(chan time.Duration, 100)}
	backoff := recordingBackoff{inner: ExponentialBackoff{Initial: time.Second, Max: 8 * time.Second}, attempts: make(chan int, 100)}
	cfg.Clock, cfg.Backoff = clock, backoff
	reg := echoRegistry(t, cfg)
	ctx := context.Background()
	raw := map[string]string{"crash.on.open": "true"}
	parsed, err := reg.ParseConfig(ctx, "echo", sdk.KindSource, raw)
	if err != nil {
		t.Fatal(err)
	}
	src, err := reg.NewSource("echo")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := src.Open(ctx, parsed, nil); !errors.Is(err, ErrPluginFailed) {
		t.Fatalf("open of a plugin that crashes: %v", err)
	}
	for i := 0; i < 5; i++ {
		if _, err := src.Read(ctx, 1); !errors.Is(err, ErrPluginFailed) {
			t.Fatalf("read %d: %v", i, err)
		}
	}
	var attempts []int
	for len(backoff.attempts) > 0 {
		attempts = append(attempts, <-backoff.attempts)
	}
	var waits []time.Duration
	for len(clock.waits) > 0 {
		if d := <-clock.waits; d != time.Hour {
			waits = append(waits, d)
		}
	}
	if !slices.Equal(attempts, []int{1, 2, 3, 4, 5, 6}) {
		t.Fatalf("backoff attempts = %v", attempts)
	}
	// Every restart waited out the backoff of the failure before it
	// (allowing for the time the failed start itself took).
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second}
	if len(waits) != len(want) {
		t.Fatalf("waits = %v, want about %v", waits, want)
	}
	for i := range want {
		if waits[i] > want[i] || waits[i] < want[i]-500*time.Millisecond {
			t.Errorf("wait %d = %v, want about %v", i, waits[i], want[i])
		}
	}
}
