package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestStaticMemberRestart: a static member (group.instance.id) restarted within
// its session timeout gets its partitions back, and the other members do not
// rebalance: no revocation or assignment reaches them, and they keep their
// member ids.
func TestStaticMemberRestart(t *testing.T) {
	_, addr := startBroker(t, t.TempDir())
	const topic, groupID, partitions = "static", "static-g", 6
	createTopic(t, addr, topic, partitions)
	own := newOwners()
	start := func(i int) *kgo.Client {
		name := fmt.Sprintf("s%d", i)
		opts := append([]kgo.Opt{kgo.ConsumerGroup(groupID), kgo.ConsumeTopics(topic),
			kgo.InstanceID(fmt.Sprintf("static-%d", i)), kgo.Balancers(kgo.RangeBalancer()),
			kgo.SessionTimeout(20 * time.Second), kgo.HeartbeatInterval(250 * time.Millisecond)}, own.opts(name)...)
		cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return cl
	}
	clients := []*kgo.Client{start(0), start(1), start(2)}
	defer func() {
		for _, cl := range clients {
			cl.Close()
		}
	}()
	members := []string{"s0", "s1", "s2"}
	waitFor(t, 60*time.Second, "3 static members to cover the partitions", func() bool { return own.complete(partitions, members) })
	adm := kadm.NewClient(newClient(t, addr))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The members joined one after another, so coverage can hold for a moment
	// between two rebalances. Take the baseline only once the group is Stable and
	// no callback has fired for a while.
	var lastCounts [3]int
	lastChange := time.Now()
	waitFor(t, 60*time.Second, "the group to settle", func() bool {
		counts := [3]int{own.eventCount("s0"), own.eventCount("s1"), own.eventCount("s2")}
		if counts != lastCounts {
			lastCounts, lastChange = counts, time.Now()
			return false
		}
		d, err := adm.DescribeGroups(ctx, groupID)
		if err != nil || d[groupID].State != "Stable" || len(d[groupID].Members) != 3 {
			lastChange = time.Now()
			return false
		}
		return own.complete(partitions, members) && time.Since(lastChange) > time.Second
	})
	before := memberIDs(t, ctx, adm, groupID)
	assigned := own.snapshot()
	events0, events2 := own.eventCount("s0"), own.eventCount("s2")

	clients[1].Close() // a static member closes without leaving the group
	own.drop("s1")
	if ids := memberIDs(t, ctx, adm, groupID); len(ids) != 3 {
		t.Fatalf("group has %d members after the static member closed, want 3", len(ids))
	}
	clients[1] = start(1)
	waitFor(t, 30*time.Second, "the restarted member to get its partitions", func() bool {
		return own.complete(partitions, members)
	})
	after := own.snapshot()
	slices.Sort(assigned["s1"])
	slices.Sort(after["s1"])
	if !slices.Equal(assigned["s1"], after["s1"]) {
		t.Fatalf("restarted member got %v, had %v", after["s1"], assigned["s1"])
	}
	if own.eventCount("s0") != events0 || own.eventCount("s2") != events2 {
		t.Fatal("the other members saw a rebalance")
	}
	now := memberIDs(t, ctx, adm, groupID)
	if now["static-0"] != before["static-0"] || now["static-2"] != before["static-2"] || now["static-1"] == before["static-1"] {
		t.Fatalf("member ids before %v, after %v: only static-1's should change", before, now)
	}
}

// memberIDs maps instance id to member id in a Stable group.
func memberIDs(t *testing.T, ctx context.Context, adm *kadm.Client, groupID string) map[string]string {
	t.Helper()
	d, err := adm.DescribeGroups(ctx, groupID)
	if err != nil {
		t.Fatal(err)
	}
	g := d[groupID]
	if g.State != "Stable" {
		t.Fatalf("group %s is %s, want Stable", groupID, g.State)
	}
	out := map[string]string{}
	for _, m := range g.Members {
		if m.InstanceID != nil {
			out[*m.InstanceID] = m.MemberID
		}
	}
	return out
}
