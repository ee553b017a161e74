package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/platform/nodetest"
)

// bin is the tributary binary TestMain builds once, with the file and
// postgres connector plugins; binPath and pluginDir are its paths.
var (
	bin                *nodetest.Binary
	binPath, pluginDir string
)

func TestMain(m *testing.M) {
	bin = nodetest.MustBuild(nodetest.Plugins("file", "postgres"))
	binPath, pluginDir = bin.Path, bin.PluginDir
	code := m.Run()
	bin.Remove()
	os.Exit(code)
}

// logBuffer collects a child process's output while tests read it.
type logBuffer = nodetest.Output

func tail(s string, n int) string { return nodetest.Tail(s, n) }

// child is a tributary process.
type child struct {
	p    *nodetest.Process
	out  *logBuffer
	done <-chan struct{} // closed when the process has exited
}

// start runs the binary with args; the process is killed at the end of the
// test if it still runs, and its output shown if the test failed.
func start(t testing.TB, name string, args ...string) *child {
	t.Helper()
	p := bin.Start(t, name, args...)
	return &child{p: p, out: p.Output(), done: p.Done()}
}

func (c *child) kill() { c.p.Kill() }

func (c *child) exited() bool { return c.p.Exited() }

// terminate sends SIGTERM and returns the exit code, killing the process
// if it has not exited within limit.
func (c *child) terminate(limit time.Duration) (int, error) { return c.p.Stop(limit) }

// cleanEnv is the environment without TRIBUTARY_* settings.
func cleanEnv() []string { return nodetest.Env() }

func freePort(t testing.TB) string { return nodetest.FreeAddr(t) }

// startBroker runs `tributary serve` on free loopback ports and returns its
// Kafka address once it is ready.
func startBroker(t testing.TB) string {
	t.Helper()
	return bin.StartNode(t, nodetest.Name("broker")).Kafka()
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
	r := bin.Run(t, nil, args...)
	return r.Stdout, r.Stderr, r.Code
}
