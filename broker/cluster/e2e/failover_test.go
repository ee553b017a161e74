package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/broker/record"
)

// acked is what the producer was told was written.
type acked struct {
	mu   sync.Mutex
	recs map[int32][]ackedRec // by partition, in acknowledgement order
	errs []error
}

type ackedRec struct {
	offset int64
	value  string
}

// produceNumbered writes numbered records round-robin over partitions with an
// idempotent acks=all producer until stop is closed, recording every ack.
func produceNumbered(t *testing.T, cl *kgo.Client, topic string, partitions int32, stop <-chan struct{}) *acked {
	a := &acked{recs: map[int32][]ackedRec{}}
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	// A test that fails before closing stop still ends the producer
	// (cleanups run last-in first-out: this one before the Wait).
	quit := make(chan struct{})
	t.Cleanup(func() { close(quit) })
	wg.Add(1)
	go func() {
		defer wg.Done()
		var inflight sync.WaitGroup
		for n := 0; ; n++ {
			select {
			case <-stop:
				inflight.Wait()
				return
			case <-quit:
				inflight.Wait()
				return
			default:
			}
			r := &kgo.Record{Topic: topic, Partition: int32(n) % partitions, Value: []byte(fmt.Sprintf("%09d", n))}
			inflight.Add(1)
			cl.Produce(context.Background(), r, func(r *kgo.Record, err error) {
				defer inflight.Done()
				a.mu.Lock()
				defer a.mu.Unlock()
				if err != nil {
					a.errs = append(a.errs, err)
					return
				}
				a.recs[r.Partition] = append(a.recs[r.Partition], ackedRec{offset: r.Offset, value: string(r.Value)})
			})
			if n%64 == 63 {
				time.Sleep(5 * time.Millisecond) // a steady stream, not a flood
			}
		}
	}()
	return a
}

func (a *acked) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, rs := range a.recs {
		n += len(rs)
	}
	return n
}

// killLeadersWhileProducing runs the failover scenario: each round SIGKILLs a
// partition leader (or the controller), waits for a new leader and more acks,
// restarts the node and waits for the ISR to be full again.
func killLeadersWhileProducing(t *testing.T, killController bool) {
	c := startCluster(t)
	adm := kadm.NewClient(c.client())
	const topic = "acked"
	const partitions = 3
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := adm.CreateTopic(ctx, partitions, 3, map[string]*string{"min.insync.replicas": kadm.StringPtr("2")}, topic)
	if err != nil || resp.Err != nil {
		t.Fatalf("create topic: %v %v", err, resp.Err)
	}
	prod := c.client(kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProduceRequestTimeout(10*time.Second), kgo.RetryTimeout(2*time.Minute))
	stop := make(chan struct{})
	a := produceNumbered(t, prod, topic, partitions, stop)
	waitFor(t, 30*time.Second, "first acks", func() bool { return a.count() > 500 })

	const rounds = 3
	st := c.waitAgreed(60*time.Second, topic, "full ISRs", fullISRs(partitions, 3))
	for round := range rounds {
		// Victims are chosen from what every node agrees on: a shared
		// client's metadata can still name the leader of a round before.
		victim := st[int32(round%partitions)].leader
		if killController {
			victim = c.agreedController()
		}
		before := a.count()
		t.Logf("round %d: SIGKILL node %d (acked so far %d)", round, victim, before)
		c.kill(c.node(victim))
		waitFor(t, 60*time.Second, "acks after the kill", func() bool { return a.count() > before+300 })
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
		t.Errorf("%d produce errors, first %v", len(a.errs), a.errs[0])
	}
	checkAcked(t, c, adm, topic, partitions, a.recs)
}

// checkAcked reads every partition back and checks each acknowledged record is
// there once, at its acknowledged offset; then stops the nodes and compares
// their logs byte for byte up to the high watermark.
func checkAcked(t *testing.T, c *testCluster, adm *kadm.Client, topic string, partitions int32, recs map[int32][]ackedRec) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Every partition's high watermark from its leader; a stale leader
	// answers with an error, so ask again until all partitions answer.
	hws := map[int32]int64{}
	waitFor(t, 60*time.Second, "the high watermark of every partition", func() bool {
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err != nil || ends.Error() != nil {
			return false
		}
		ends.Each(func(o kadm.ListedOffset) { hws[o.Partition] = o.Offset })
		for p := range partitions {
			if _, ok := hws[p]; !ok {
				return false
			}
		}
		return true
	})
	seen := map[string]int{}
	total := 0
	for p := range partitions {
		cons := c.client(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {p: kgo.NewOffset().AtStart()}}))
		got := map[int64]string{}
		for int64(len(got)) < hws[p] {
			fs := cons.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("partition %d: read %d of %d records before the deadline", p, len(got), hws[p])
			}
			fs.EachRecord(func(r *kgo.Record) {
				got[r.Offset] = string(r.Value)
				seen[string(r.Value)]++
			})
		}
		cons.Close()
		for _, r := range recs[p] {
			if v, ok := got[r.offset]; !ok || v != r.value {
				t.Fatalf("partition %d: acknowledged %s at %d, the log has %q", p, r.value, r.offset, v)
			}
		}
		total += len(recs[p])
	}
	for v, n := range seen {
		if n != 1 {
			t.Fatalf("record %s is in the topic %d times", v, n)
		}
	}
	t.Logf("%d acknowledged records all present exactly once; high watermarks %v", total, hws)
	c.stopAll(30 * time.Second)
	for p := range partitions {
		var ref []byte
		for _, n := range c.nodes {
			b := logPrefix(t, filepath.Join(n.dir, topic+"-"+strconv.Itoa(int(p))), hws[p])
			if ref == nil {
				ref = b
				continue
			}
			if !bytes.Equal(ref, b) {
				t.Fatalf("partition %d: node %d's log differs from node 1's below the high watermark %d (%d vs %d bytes)",
					p, n.id, hws[p], len(b), len(ref))
			}
		}
	}
}

// logPrefix is a partition folder's batches (segments concatenated) below hw.
func logPrefix(t *testing.T, dir string, hw int64) []byte {
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
	n := 0
	for rest := all; len(rest) > 0; {
		batch, r, h, err := record.Next(rest)
		if err != nil || h.BaseOffset >= hw {
			break
		}
		n += len(batch)
		rest = r
	}
	return slices.Clip(all[:n])
}

// TestClusterLeaderKillsLoseNothing is scenario 1: partition leaders are
// SIGKILLed and restarted under an idempotent acks=all producer (RF=3,
// min.insync.replicas=2).
func TestClusterLeaderKillsLoseNothing(t *testing.T) {
	killLeadersWhileProducing(t, false)
}

// TestClusterControllerKillsLoseNothing is scenario 2: the raft leader (the
// controller) is SIGKILLed and restarted instead.
func TestClusterControllerKillsLoseNothing(t *testing.T) {
	killLeadersWhileProducing(t, true)
}
