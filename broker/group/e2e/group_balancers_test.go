package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestBalancers: for each client-side assignor, four consumers of one group cover
// the 12 partitions of a topic exactly once; a fifth joins and one leaves, and the
// assignment stays complete without a partition ever having two owners.
func TestBalancers(t *testing.T) {
	_, addr := startBroker(t, t.TempDir())
	balancers := []struct {
		name string
		b    func() kgo.GroupBalancer
	}{
		{"range", kgo.RangeBalancer},
		{"roundrobin", kgo.RoundRobinBalancer},
		{"sticky", kgo.StickyBalancer},
		{"cooperative-sticky", kgo.CooperativeStickyBalancer},
	}
	const partitions = 12
	for _, bc := range balancers {
		t.Run(bc.name, func(t *testing.T) {
			t.Parallel()
			topic, groupID := "bal-"+bc.name, "group-"+bc.name
			createTopic(t, addr, topic, partitions)
			own := newOwners()
			clients := map[string]*kgo.Client{}
			start := func(name string) {
				opts := append([]kgo.Opt{
					kgo.ConsumerGroup(groupID),
					kgo.ConsumeTopics(topic),
					kgo.Balancers(bc.b()),
					kgo.HeartbeatInterval(250 * time.Millisecond),
					kgo.SessionTimeout(10 * time.Second),
				}, own.opts(name)...)
				clients[name] = newClient(t, addr, opts...)
			}
			members := []string{"c0", "c1", "c2", "c3"}
			for _, m := range members {
				start(m)
			}
			waitFor(t, 60*time.Second, "4 consumers to cover 12 partitions", func() bool { return own.complete(partitions, members) })
			t.Logf("4 members: %v", own.snapshot())

			start("c4")
			members = append(members, "c4")
			waitFor(t, 60*time.Second, "5 consumers to cover 12 partitions", func() bool { return own.complete(partitions, members) })
			t.Logf("5 members: %v", own.snapshot())

			clients["c1"].Close()
			own.drop("c1")
			members = []string{"c0", "c2", "c3", "c4"}
			waitFor(t, 60*time.Second, "the 4 remaining consumers to cover 12 partitions", func() bool { return own.complete(partitions, members) })
			t.Logf("after c1 left: %v", own.snapshot())
			if v := own.err(); v != "" {
				t.Fatal(v)
			}
			if got := fmt.Sprint(len(own.snapshot())); got != "4" {
				t.Fatalf("%s consumers own partitions, want 4", got)
			}
		})
	}
}
