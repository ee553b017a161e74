package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/broker/record"
)

// TestClusterDivergentTailTruncated is scenario 4. Both followers of a
// partition (RF=3, min.insync.replicas=1, unclean.leader.election.enable) are
// SIGKILLed, the leader alone takes acks=1 writes no follower has, and is then
// SIGKILLed too; the two followers come back, one of them leads and takes
// other writes at the same offsets; the old leader comes back last. It must
// drop its divergent tail (OffsetForLeaderEpoch) and end byte-identical to the
// others below the high watermark, with none of its unreplicated records left.
func TestClusterDivergentTailTruncated(t *testing.T) {
	c := startCluster(t)
	adm := kadm.NewClient(c.client())
	const topic = "divergent"
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	resp, err := adm.CreateTopic(ctx, 1, 3, map[string]*string{
		"min.insync.replicas":            kadm.StringPtr("1"),
		"unclean.leader.election.enable": kadm.StringPtr("true"),
	}, topic)
	if err != nil || resp.Err != nil {
		t.Fatalf("create topic: %v %v", err, resp.Err)
	}
	// Decisions below ask every live node afresh: a client's Metadata answer
	// can lag a leader or ISR change by a moment.
	agreed := func(cond func(partitionState) bool) func() bool {
		return func() bool {
			st, ok := c.agreedState(topic)
			return ok && cond(st)
		}
	}
	var oldLeader int32
	waitFor(t, 30*time.Second, "a full ISR", agreed(func(st partitionState) bool {
		oldLeader = st.leader
		return len(st.isr) == 3 && st.leader > 0
	}))
	var followers []int32
	for id := int32(1); id <= 3; id++ {
		if id != oldLeader {
			followers = append(followers, id)
		}
	}

	// Uncompressed, so the divergent values can be looked for in the files.
	allAcks := c.client(kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.ProduceRequestTimeout(10*time.Second), kgo.RetryTimeout(90*time.Second))
	acks := map[int32][]ackedRec{}
	produce := func(cl *kgo.Client, prefix string, n int) {
		t.Helper()
		for i := range n {
			r := &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, "%s-%06d", prefix, i)}
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatalf("produce %s: %v", r.Value, err)
			}
			if prefix != "div" {
				acks[0] = append(acks[0], ackedRec{offset: r.Offset, value: string(r.Value)})
			}
		}
	}
	const committed, divergent = 100, 40
	produce(allAcks, "base", committed)

	// Both followers go at once, so no ISR change can happen between them
	// (they take the raft quorum with them).
	killAll(c, followers...)
	oneAck := c.client(kgo.SeedBrokers(c.node(oldLeader).kafka), kgo.RequiredAcks(kgo.LeaderAck()),
		kgo.DisableIdempotentWrite(), kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.ProduceRequestTimeout(10*time.Second), kgo.RetryTimeout(30*time.Second))
	produce(oneAck, "div", divergent)
	c.kill(c.node(oldLeader))
	oldDir := filepath.Join(c.node(oldLeader).dir, topic+"-0")
	if end := logEnd(t, oldDir); end < committed+divergent {
		t.Fatalf("node %d's log ends at %d after its lone writes, want at least %d", oldLeader, end, committed+divergent)
	}
	if !bytes.Contains(readLog(t, oldDir), []byte("div-")) {
		t.Fatalf("node %d's log holds none of the divergent records", oldLeader)
	}

	// The followers come back together (either alone has no raft quorum).
	for _, id := range followers {
		c.launch(c.node(id))
	}
	for _, id := range followers {
		c.waitReady(c.node(id))
	}
	var newLeader int32
	waitFor(t, 60*time.Second, "a follower leading", agreed(func(st partitionState) bool {
		newLeader = st.leader
		return slices.Contains(followers, st.leader)
	}))
	// More new records than divergent ones, so the new leader's log covers
	// every offset the old leader wrote alone.
	const fresh, last = 2 * divergent, 10
	produce(allAcks, "new", fresh)

	start := time.Now()
	c.restart(c.node(oldLeader))
	waitFor(t, 90*time.Second, fmt.Sprintf("node %d back in the ISR", oldLeader), agreed(func(st partitionState) bool {
		return slices.Contains(st.isr, oldLeader)
	}))
	t.Logf("node %d (old leader, %d records only it had) rejoined the ISR under leader %d %s after its restart",
		oldLeader, divergent, newLeader, time.Since(start).Round(time.Millisecond))
	waitFor(t, 60*time.Second, "a full ISR", agreed(func(st partitionState) bool { return len(st.isr) == 3 }))
	// Written with all three in sync, so the high watermark covers what the
	// old leader had to replace.
	produce(allAcks, "tail", last)

	checkAcked(t, c, adm, topic, 1, acks) // stops the nodes; compares logs below the HW
	if end := logEnd(t, oldDir); end != committed+fresh+last {
		t.Errorf("node %d's log ends at %d, want %d", oldLeader, end, committed+fresh+last)
	}
	if b := readLog(t, oldDir); bytes.Contains(b, []byte("div-")) {
		t.Fatalf("node %d still holds divergent records after rejoining", oldLeader)
	}
}

// killAll SIGKILLs several nodes at the same moment.
func killAll(c *testCluster, ids ...int32) {
	done := make(chan struct{}, len(ids))
	for _, id := range ids {
		go func() {
			defer func() { done <- struct{}{} }()
			c.kill(c.node(id))
		}()
	}
	for range ids {
		<-done
	}
}

// readLog is a partition folder's segments concatenated.
func readLog(t testing.TB, dir string) []byte {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	var all []byte
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

// logEnd is the offset after a partition folder's last whole batch.
func logEnd(t testing.TB, dir string) int64 {
	t.Helper()
	var end int64
	for rest := readLog(t, dir); len(rest) > 0; {
		_, r, h, err := record.Next(rest)
		if err != nil {
			break
		}
		end = h.LastOffset() + 1
		rest = r
	}
	return end
}
