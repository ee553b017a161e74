package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// binPath is the tributary binary TestMain builds once, and pluginDir a
// directory with the file and postgres connector plugins.
var binPath, pluginDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tributary-pipelines-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "tributary")
	pluginDir = filepath.Join(dir, "plugins")
	for _, b := range []struct{ out, pkg string }{
		{binPath, "../../cmd/tributary"},
		{filepath.Join(pluginDir, "file"), "../../connectors/file"},
		{filepath.Join(pluginDir, "postgres"), "../../connectors/postgres"},
	} {
		build := exec.Command("go", "build", "-o", b.out, b.pkg)
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build", b.pkg+":", err)
			_ = os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// logBuffer collects a child process's output while tests read it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// child is a tributary process.
type child struct {
	cmd     *exec.Cmd
	out     *logBuffer
	done    chan struct{}
	waitErr error
}

// start runs the binary with args; the process is killed at the end of the
// test if it still runs, and its output shown if the test failed.
func start(t testing.TB, name string, args ...string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(binPath, args...), out: &logBuffer{}, done: make(chan struct{})}
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	c.cmd.Env = cleanEnv()
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		c.waitErr = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		c.kill()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, tail(c.out.String(), 40))
		}
	})
	return c
}

func (c *child) kill() {
	select {
	case <-c.done:
	default:
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// terminate sends SIGTERM and returns the exit code, killing the process
// if it has not exited within limit.
func (c *child) terminate(limit time.Duration) (int, error) {
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil && !c.exited() {
		return -1, err
	}
	select {
	case <-c.done:
	case <-time.After(limit):
		c.kill()
		return -1, fmt.Errorf("no exit within %s of SIGTERM", limit)
	}
	var ee *exec.ExitError
	if errors.As(c.waitErr, &ee) {
		return ee.ExitCode(), nil
	}
	return 0, c.waitErr
}

// cleanEnv is the environment without TRIBUTARY_* settings.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TRIBUTARY_") {
			env = append(env, kv)
		}
	}
	return env
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startBroker runs `tributary serve` on free loopback ports and returns its
// Kafka address once /readyz answers.
func startBroker(t testing.TB) string {
	t.Helper()
	for attempt := 0; attempt < 3; attempt++ {
		kafka, httpAddr := freePort(t), freePort(t)
		c := start(t, "broker", "serve", "--data-dir", t.TempDir(), "--listeners", kafka, "--http-addr", httpAddr,
			"--groups-initial-rebalance-delay", "0s", "--shutdown-timeout", "10s")
		deadline := time.Now().Add(30 * time.Second)
		client := http.Client{Timeout: time.Second}
		for time.Now().Before(deadline) && !c.exited() {
			resp, err := client.Get("http://" + httpAddr + "/readyz")
			if err == nil {
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return kafka
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("broker start attempt %d failed:\n%s", attempt+1, tail(c.out.String(), 20))
		c.kill()
	}
	t.Fatal("could not start the broker")
	return ""
}

func newClient(t testing.TB, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.RetryTimeout(30 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func createTopics(t testing.TB, addr string, partitions int32, names ...string) {
	t.Helper()
	adm := kadm.NewClient(newClient(t, addr))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := adm.CreateTopics(ctx, partitions, 1, nil, names...)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("create topics %v: %v", names, err)
	}
}

// produce writes records synchronously.
func produce(t testing.TB, addr string, recs []*kgo.Record) {
	t.Helper()
	cl := newClient(t, addr, kgo.ProducerLinger(5*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const chunk = 10000
	for len(recs) > 0 {
		n := min(chunk, len(recs))
		if err := cl.ProduceSync(ctx, recs[:n]...).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
		recs = recs[n:]
	}
}

// drain reads every record of topic from the start, with read_committed
// unless uncommitted, stopping when nothing more came for two seconds.
func drain(t testing.TB, addr, topic string, uncommitted bool) []*kgo.Record {
	t.Helper()
	iso := kgo.ReadCommitted()
	if uncommitted {
		iso = kgo.ReadUncommitted()
	}
	cl := newClient(t, addr, kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(iso),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(500*time.Millisecond))
	var out []*kgo.Record
	idle := 0
	deadline := time.Now().Add(3 * time.Minute)
	for idle < 4 && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		fetches := cl.PollFetches(ctx)
		cancel()
		n := 0
		fetches.EachRecord(func(r *kgo.Record) { out = append(out, r); n++ })
		if n == 0 {
			idle++
		} else {
			idle = 0
		}
	}
	return out
}

// waitFor polls cond every 50ms until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// writeFile writes a file in a temporary directory and returns its path.
func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// runCLI runs the binary to completion (bounded by a minute).
func runCLI(t testing.TB, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr, cmd.Env = &o, &e, cleanEnv()
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("run %v: %v", args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("tributary %v did not finish within a minute", args)
	}
	return o.String(), e.String(), code
}
