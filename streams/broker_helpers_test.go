package streams_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
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

// binPath is the tributary binary TestMain builds once for the broker tests.
var binPath string

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	if bin := os.Getenv("TRIBUTARY_TEST_BIN"); bin != "" {
		// A prebuilt binary, for running these tests while the tree
		// does not build.
		binPath = bin
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "streams-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "tributary")
	build := exec.Command("go", "build", "-o", binPath, "../cmd/tributary")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build tributary:", err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer collects a child process's output while tests read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
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
// Kafka address once a client gets metadata from it. The process is killed
// when the test ends.
func startBroker(t testing.TB) string {
	t.Helper()
	for attempt := 0; attempt < 3; attempt++ {
		kafka, httpAddr := freePort(t), freePort(t)
		out := &syncBuffer{}
		cmd := exec.Command(binPath, "serve", "--data-dir", t.TempDir(), "--listeners", kafka, "--http-addr", httpAddr,
			"--groups-initial-rebalance-delay=0s", "--groups-min-session-timeout=1s")
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		t.Cleanup(func() {
			if t.Failed() {
				// SIGQUIT makes the Go runtime print every goroutine, which
				// shows where a stuck broker waits; the whole log goes to a
				// file because the dump is long.
				_ = cmd.Process.Signal(syscall.SIGQUIT)
				select {
				case <-done:
				case <-time.After(5 * time.Second):
				}
				f, err := os.CreateTemp("", "streams-broker-*.log")
				if err == nil {
					_, _ = f.WriteString(out.String())
					_ = f.Close()
					t.Logf("broker log and goroutine dump: %s", f.Name())
				}
			}
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-done
		})
		if waitBroker(kafka, done, 30*time.Second) {
			return kafka
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
		t.Logf("broker start attempt %d failed:\n%s", attempt+1, tail(out.String(), 20))
	}
	t.Fatal("could not start tributary serve")
	return ""
}

func waitBroker(addr string, done <-chan struct{}, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return false
		default:
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err = kadm.NewClient(cl).ListBrokers(ctx)
			cancel()
			cl.Close()
			if err == nil {
				return true
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func newClient(t testing.TB, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.RetryTimeout(time.Minute)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func createTopics(t testing.TB, addr string, partitions int32, compact bool, topics ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var cfg map[string]*string
	if compact {
		c := "compact"
		cfg = map[string]*string{"cleanup.policy": &c}
	}
	resps, err := kadm.NewClient(newClient(t, addr)).CreateTopics(ctx, partitions, 1, cfg, topics...)
	if err == nil {
		err = resps.Error()
	}
	if err != nil {
		t.Fatalf("create topics %v: %v", topics, err)
	}
}

// produce writes records synchronously in batches.
func produce(t testing.TB, addr string, rs []*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl := newClient(t, addr, kgo.ProducerLinger(5*time.Millisecond))
	for len(rs) > 0 {
		n := min(len(rs), 10_000)
		if err := cl.ProduceSync(ctx, rs[:n]...).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
		rs = rs[n:]
	}
}

// readCommitted returns every committed record of topic: it reads with
// read_committed up to each partition's last stable offset, keeping control
// records so a partition ending in a commit marker is seen to be done.
func readCommitted(t testing.TB, addr, topic string) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ends, err := kadm.NewClient(newClient(t, addr)).ListCommittedOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		t.Fatalf("end offsets of %s: %v", topic, err)
	}
	left := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			left[o.Partition] = o.Offset
		}
	})
	cl := newClient(t, addr, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	var out []*kgo.Record
	for len(left) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %s: %v; partitions left %v", topic, ctx.Err(), left)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			end, ok := left[r.Partition]
			if !ok {
				return
			}
			if !r.Attrs.IsControl() {
				out = append(out, r)
			}
			if r.Offset+1 >= end {
				delete(left, r.Partition)
			}
		})
	}
	return out
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
