package streams_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/platform/nodetest"
)

// bin is the tributary binary TestMain builds once for the broker tests
// (nodetest.PrebuiltEnv names a prebuilt one, for running these tests while
// the tree does not build).
var bin *nodetest.Binary

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	bin = nodetest.MustBuild()
	code := m.Run()
	bin.Remove()
	os.Exit(code)
}

// syncBuffer collects a child process's output while tests read it.
type syncBuffer = nodetest.Output

// startBroker runs `tributary serve` on free loopback ports and returns its
// Kafka address once it is ready. The process is killed when the test ends;
// if the test failed, its log and a goroutine dump are saved in a file.
func startBroker(t testing.TB) string {
	t.Helper()
	return bin.StartNode(t, nodetest.Name("broker"), nodetest.Flags("--groups-min-session-timeout=1s")).Kafka()
}

func tail(s string, n int) string { return nodetest.Tail(s, n) }

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
