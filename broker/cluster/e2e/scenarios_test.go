package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// catchUpBytes is how much scenario 3 writes while the follower is down: the
// 100 MB of the issue.
const catchUpBytes = 100 << 20

// TestClusterFollowerCatchesUp is scenario 3: a follower is SIGKILLed, 100 MB
// are written with acks=all (RF=3, min.insync.replicas=2, so the two others
// acknowledge), the follower is restarted, catches up, rejoins the ISR, and
// its log is then byte-identical to the others' up to the high watermark.
func TestClusterFollowerCatchesUp(t *testing.T) {
	c := startCluster(t)
	adm := kadm.NewClient(c.client())
	const topic = "catchup"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	resp, err := adm.CreateTopic(ctx, 1, 3, map[string]*string{"min.insync.replicas": kadm.StringPtr("2")}, topic)
	if err != nil || resp.Err != nil {
		t.Fatalf("create topic: %v %v", err, resp.Err)
	}
	// Decisions ask every node afresh: a shared client's Metadata answer
	// can lag a leader or ISR change by seconds.
	st := c.waitAgreed(30*time.Second, topic, "a full ISR", fullISRs(1, 3))
	leader := st[0].leader
	ctrl := c.agreedController()
	var follower int32
	for id := int32(1); id <= 3; id++ {
		if id != leader && id != ctrl {
			follower = id
		}
	}
	if follower == 0 {
		follower = leader%3 + 1 // leader and controller are the same node
	}
	// A one-replica topic on the follower goes offline with it.
	lonely := kmsg.NewPtrCreateTopicsRequest()
	lt := kmsg.NewCreateTopicsRequestTopic()
	lt.Topic, lt.NumPartitions, lt.ReplicationFactor = "lonely", -1, -1
	ra := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
	ra.Replicas = []int32{follower}
	lt.ReplicaAssignment = append(lt.ReplicaAssignment, ra)
	lonely.Topics = append(lonely.Topics, lt)
	if resp, err := lonely.RequestWith(ctx, c.client()); err != nil || resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("create topic lonely on node %d: %v %+v", follower, err, resp)
	}
	c.kill(c.node(follower))
	waitMetricOn(t, c.node(ctrl), 30*time.Second, "tributary_partitions_offline", nil, ">= 1 (lonely/0 at least)", func(v float64) bool { return v >= 1 })
	c.waitAgreed(30*time.Second, topic, fmt.Sprintf("node %d out of the ISR", follower), func(st map[int32]partitionState) bool {
		return len(st[0].isr) == 2 && !slices.Contains(st[0].isr, follower)
	})
	// The leader's metrics say so: a shrink, and a partition under-replicated
	// but not under min ISR; the live nodes have one raft leader.
	ln := c.node(leader)
	waitMetricOn(t, ln, 30*time.Second, "tributary_isr_shrinks_total", nil, ">= 1", func(v float64) bool { return v >= 1 })
	waitMetricOn(t, ln, 30*time.Second, "tributary_partitions_under_replicated", nil, ">= 1", func(v float64) bool { return v >= 1 })
	if v, _ := metricOn(t, ln, "tributary_partitions_under_min_isr", nil); v != 0 {
		t.Errorf("node %d: tributary_partitions_under_min_isr = %v with 2 of 3 in sync and min.insync.replicas=2", leader, v)
	}
	raftLeaders := 0.0
	for _, n := range c.nodes {
		if n.id != follower {
			v, _ := metricOn(t, n, "tributary_raft_state", map[string]string{"state": "Leader"})
			raftLeaders += v
		}
	}
	if raftLeaders != 1 {
		t.Errorf("tributary_raft_state{state=Leader} sums to %v over the live nodes, want 1", raftLeaders)
	}

	// Uncompressed random values, so 100 MB of records are 100 MB on disk.
	prod := c.client(kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProduceRequestTimeout(10*time.Second),
		kgo.RetryTimeout(time.Minute), kgo.MaxBufferedBytes(16<<20), kgo.ProducerBatchCompression(kgo.NoCompression()))
	value := make([]byte, 16<<10)
	_, _ = rand.NewChaCha8([32]byte{6}).Read(value)
	records := catchUpBytes / len(value)
	start := time.Now()
	errs := make(chan error, 1)
	for i := range records {
		prod.Produce(ctx, &kgo.Record{Topic: topic, Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				select {
				case errs <- err:
				default:
				}
			}
		})
		if i%1024 == 0 && ctx.Err() != nil {
			break
		}
	}
	if err := prod.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
	select {
	case err := <-errs:
		t.Fatalf("produce while node %d was down: %v", follower, err)
	default:
	}
	wrote := time.Since(start)
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	hw := ends[topic][0].Offset
	if hw != int64(records) {
		t.Fatalf("high watermark %d after %d acknowledged records", hw, records)
	}

	start = time.Now()
	c.restart(c.node(follower))
	c.waitAgreed(3*time.Minute, topic, fmt.Sprintf("node %d back in the ISR", follower), func(st map[int32]partitionState) bool {
		return slices.Contains(st[0].isr, follower)
	})
	waitMetricOn(t, ln, 30*time.Second, "tributary_isr_expands_total", nil, ">= 1", func(v float64) bool { return v >= 1 })
	waitMetricOn(t, ln, 30*time.Second, "tributary_partitions_under_replicated", nil, "0", func(v float64) bool { return v == 0 })
	waitMetricOn(t, c.node(ctrl), 30*time.Second, "tributary_partitions_offline", nil, "0", func(v float64) bool { return v == 0 })
	t.Logf("wrote %d MiB (%d records) in %s with node %d down; it rejoined the ISR %s after its restart",
		len(value)*records>>20, records, wrote.Round(time.Millisecond), follower, time.Since(start).Round(time.Millisecond))

	c.stopAll(30 * time.Second)
	ref := logPrefix(t, filepath.Join(c.node(leader).dir, topic+"-0"), hw)
	if len(ref) < catchUpBytes {
		t.Fatalf("leader %d holds %d bytes below the high watermark, want at least %d", leader, len(ref), catchUpBytes)
	}
	for _, n := range c.nodes {
		b := logPrefix(t, filepath.Join(n.dir, topic+"-0"), hw)
		if !bytes.Equal(ref, b) {
			t.Fatalf("node %d's log differs from leader %d's below the high watermark %d (%d vs %d bytes)",
				n.id, leader, hw, len(b), len(ref))
		}
	}
}

// TestClusterControlledShutdownNoClientErrors is scenario 5: the leader of a
// partition is stopped with SIGTERM (a controlled shutdown moves its
// leaderships first) while an idempotent acks=all producer writes; the
// producer sees no error (kgo retries only retriable ones, so any error that
// reaches a callback is non-retriable or out of retries), and every
// acknowledged record is there exactly once.
func TestClusterControlledShutdownNoClientErrors(t *testing.T) {
	c := startCluster(t)
	adm := kadm.NewClient(c.client())
	const topic = "graceful"
	const partitions = 3
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := adm.CreateTopic(ctx, partitions, 3, map[string]*string{"min.insync.replicas": kadm.StringPtr("2")}, topic)
	if err != nil || resp.Err != nil {
		t.Fatalf("create topic: %v %v", err, resp.Err)
	}
	st := c.waitAgreed(30*time.Second, topic, "full ISRs", fullISRs(partitions, 3))
	// A short retry budget: a controlled shutdown should cost the producer a
	// leader change (NOT_LEADER_OR_FOLLOWER, retried at once), not a wait.
	prod := c.client(kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProduceRequestTimeout(10*time.Second), kgo.RetryTimeout(30*time.Second))
	stop := make(chan struct{})
	a := produceNumbered(t, prod, topic, partitions, stop)
	waitFor(t, 30*time.Second, "first acks", func() bool { return a.count() > 500 })

	for round := range 2 {
		victim := st[int32(round%partitions)].leader
		before := a.count()
		start := time.Now()
		c.stop(c.node(victim), 40*time.Second)
		t.Logf("round %d: node %d (leader of partition %d) stopped gracefully in %s; acked so far %d",
			round, victim, round%partitions, time.Since(start).Round(time.Millisecond), before)
		waitFor(t, 60*time.Second, "acks after the shutdown", func() bool { return a.count() > before+300 })
		c.restart(c.node(victim))
		st = c.waitAgreed(90*time.Second, topic, "full ISRs again", fullISRs(partitions, 3))
	}
	close(stop)
	if err := prod.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.errs) > 0 {
		t.Fatalf("%d produce errors reached the client, first %v", len(a.errs), a.errs[0])
	}
	checkAcked(t, c, adm, topic, partitions, a.recs)
}
