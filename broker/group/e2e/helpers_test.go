package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/broker"
	"github.com/tributary-io/tributary/broker/group"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	os.Exit(m.Run())
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startBroker starts a single node on a free loopback port over dir.
func startBroker(t *testing.T, dir string) (*broker.Broker, string) {
	t.Helper()
	return startBrokerWith(t, dir, nil)
}

// startBrokerWith is startBroker with a chance to change the config first.
func startBrokerWith(t *testing.T, dir string, mod func(*broker.Config)) (*broker.Broker, string) {
	t.Helper()
	cfg := broker.Config{
		DataDir:   dir,
		Listeners: []string{"127.0.0.1:0"},
		Logger:    quietLogger(),
		Groups: group.Config{
			Partitions:            10,
			InitialRebalanceDelay: 200 * time.Millisecond,
			MinSessionTimeout:     time.Second,
		},
	}
	if mod != nil {
		mod(&cfg)
	}
	b, err := broker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopBroker(t, b) }) // a second Shutdown does nothing
	return b, b.Addrs()[0].String()
}

func stopBroker(t *testing.T, b *broker.Broker) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

// newClient returns a client closed at the end of the test.
func newClient(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func createTopic(t *testing.T, addr, topic string, partitions int32) {
	t.Helper()
	adm := kadm.NewClient(newClient(t, addr))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := adm.CreateTopic(ctx, partitions, 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
}

// produce writes n records with values "<prefix><i>" round-robin over partitions.
func produce(t *testing.T, cl *kgo.Client, topic, prefix string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rs := make([]*kgo.Record, n)
	for i := range rs {
		rs[i] = &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, "%s%d", prefix, i)}
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// owners tracks which consumer owns which partition, from the assignment
// callbacks, and records any moment a partition had two owners.
type owners struct {
	mu        sync.Mutex
	by        map[string]map[int32]bool // consumer -> owned partitions
	violation string
	events    map[string]int // callbacks per consumer
}

func newOwners() *owners { return &owners{by: map[string]map[int32]bool{}, events: map[string]int{}} }

// opts returns the callbacks that keep the table for consumer name.
func (o *owners) opts(name string) []kgo.Opt {
	return []kgo.Opt{
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { o.assign(name, m) }),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { o.revoke(name, m) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { o.revoke(name, m) }),
	}
}

func (o *owners) assign(name string, m map[string][]int32) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events[name]++
	if o.by[name] == nil {
		o.by[name] = map[int32]bool{}
	}
	for _, ps := range m {
		for _, p := range ps {
			for other, owned := range o.by {
				if other != name && owned[p] && o.violation == "" {
					o.violation = fmt.Sprintf("partition %d assigned to %s while %s owns it", p, name, other)
				}
			}
			o.by[name][p] = true
		}
	}
}

func (o *owners) revoke(name string, m map[string][]int32) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events[name]++
	for _, ps := range m {
		for _, p := range ps {
			delete(o.by[name], p)
		}
	}
}

// drop forgets a consumer that was closed.
func (o *owners) drop(name string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.by, name)
}

// complete reports whether members (exactly these) together own partitions
// 0..n-1, each once, and each member owns at least one when there are enough.
func (o *owners) complete(n int, members []string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	seen := map[int32]int{}
	for _, name := range members {
		owned := o.by[name]
		if len(owned) == 0 && n >= len(members) {
			return false
		}
		for p := range owned {
			seen[p]++
		}
	}
	if len(seen) != n {
		return false
	}
	for _, c := range seen {
		if c != 1 {
			return false
		}
	}
	return true
}

func (o *owners) snapshot() map[string][]int32 {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string][]int32{}
	for name, owned := range o.by {
		for p := range owned {
			out[name] = append(out[name], p)
		}
	}
	return out
}

func (o *owners) err() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.violation
}

// eventCount is how many assignment callbacks consumer name has had.
func (o *owners) eventCount(name string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.events[name]
}
