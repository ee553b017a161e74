package connect_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/pipelines/connect"
	"github.com/tributary-io/tributary/platform/nodetest"
)

// bin is the tributary binary, built once: each test runs a node of it
// (worker disabled) as its broker and drives connect's tasks itself, with
// plugins declared in the test and run in-process.
var bin *nodetest.Binary

func TestMain(m *testing.M) {
	bin = nodetest.MustBuild()
	code := m.Run()
	bin.Remove()
	os.Exit(code)
}

// startBroker runs a node without a worker, with the compacted offsets
// topic a worker would create (pipelines/deploy.EnsureTopics).
func startBroker(t *testing.T) string {
	t.Helper()
	addr := bin.StartNode(t, nodetest.Name("broker"), nodetest.Flags("--worker-disabled", "--groups-min-session-timeout", "1s")).Kafka()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	compact := "compact"
	resp, err := kadm.NewClient(client(t, addr)).CreateTopic(ctx, 1, 1, map[string]*string{"cleanup.policy": &compact}, connect.OffsetsTopic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create %s: %v", connect.OffsetsTopic, err)
	}
	return addr
}

func client(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.RetryTimeout(30 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func createTopics(t *testing.T, addr string, names ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(client(t, addr)).CreateTopics(ctx, 1, 1, nil, names...)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("create topics %v: %v", names, err)
	}
}

// produceValues writes values to topic's only partition, in order.
func produceValues(t *testing.T, addr, topic string, values []string) {
	t.Helper()
	recs := make([]*kgo.Record, len(values))
	for i, v := range values {
		recs[i] = &kgo.Record{Topic: topic, Value: []byte(v)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := client(t, addr).ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// committedRecords reads topic with read_committed up to its last stable
// offset and returns its records in order.
func committedRecords(t *testing.T, addr, topic string) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(client(t, addr)).ListCommittedOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("list offsets of %s: %v", topic, err)
	}
	end := int64(0)
	ends.Each(func(o kadm.ListedOffset) { end = o.Offset })
	if end == 0 {
		return nil
	}
	cl := client(t, addr, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	defer cl.Close()
	var out []*kgo.Record
	for done := false; !done; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %s up to %d: %v", topic, end, ctx.Err())
		}
		fs.EachRecord(func(r *kgo.Record) {
			if !r.Attrs.IsControl() {
				out = append(out, r)
			}
			if r.Offset+1 >= end {
				done = true
			}
		})
	}
	return out
}

// groupOffset is the offset group committed for topic's partition 0, -1
// when none.
func groupOffset(t *testing.T, addr, group, topic string) int64 {
	t.Helper()
	o, err := committedOffset(addr, group, topic)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// committedOffset is groupOffset for goroutines other than the test's.
func committedOffset(addr, group, topic string) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	resp, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	if err != nil {
		return 0, fmt.Errorf("fetch offsets of %s: %w", group, err)
	}
	if o, ok := resp.Lookup(topic, 0); ok && o.Err == nil {
		return o.At, nil
	}
	return -1, nil
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// states records a task's state changes.
type states struct {
	mu  sync.Mutex
	all []string
}

func (s *states) on(state, trace string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all = append(s.all, state+": "+trace)
}

func (s *states) last() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.all) == 0 {
		return ""
	}
	return s.all[len(s.all)-1]
}

// taskRun is a task run in a goroutine owned by the test: it is cancelled
// and waited for at cleanup.
type taskRun struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error // Run's result, set before done is closed
}

func runTask(t *testing.T, run func(context.Context) error) *taskRun {
	ctx, cancel := context.WithCancel(context.Background())
	r := &taskRun{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			t.Error("task did not stop within 30s of its cancel")
		}
	})
	return r
}

func taskConfig(t *testing.T, addr string, host connect.Host, raw map[string]string, st *states) connect.TaskConfig {
	t.Helper()
	cfg, probs, err := connect.Validate(context.Background(), host, "c", raw)
	if err != nil || len(probs) > 0 {
		t.Fatalf("connector config: %v %v", probs, err)
	}
	return connect.TaskConfig{Connector: cfg, Host: host, Seeds: []string{addr},
		Logger:         slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
		OnState:        st.on,
		SessionTimeout: 2 * time.Second, ReadWait: 100 * time.Millisecond, InitialBackoff: 50 * time.Millisecond}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func values(n int, bad func(i int) bool) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("v-%03d", i)
		if bad(i) {
			out[i] = fmt.Sprintf("bad-%03d", i)
		}
	}
	return out
}
