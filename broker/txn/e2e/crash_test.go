package e2e

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/platform/nodetest"
)

// startServe builds the binary and starts `tributary serve` as a process that
// clients reach through a proxy (the node advertises the proxy's address), so a
// test can drop the answers of requests in flight and SIGKILL the broker.
func startServe(t *testing.T) (*nodetest.Node, *proxy) {
	t.Helper()
	bin, err := nodetest.Build()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bin.Remove)
	px := newProxy(t)
	n := bin.StartNode(t, nodetest.Flags("--worker-disabled", "--advertised-listeners", px.addr()))
	px.setBackend(n.Kafka())
	return n, px
}

// TestTransactionAcrossBrokerSIGKILL kills the broker process in the middle
// of a transaction (two of its three topics added and written) and starts it
// again: the coordinator reloads the open transaction from
// __transaction_state, and the producer either finishes and commits it, all
// three topics visible to read_committed, or aborts it, none visible.
func TestTransactionAcrossBrokerSIGKILL(t *testing.T) {
	topics := []string{"kill-x", "kill-y", "kill-z"}
	n, px := startServe(t)
	createTopics(t, px.addr(), 1, topics...)
	for _, commit := range []bool{true, false} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		id := fmt.Sprintf("killed-mid-txn-%v", commit)
		prod := txnProducer(t, px.addr(), id, kgo.TransactionTimeout(time.Minute))
		if err := prod.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		v := fmt.Sprint(commit)
		if err := prod.ProduceSync(ctx, rec(topics[0], 0, v), rec(topics[1], 0, v)).FirstErr(); err != nil {
			t.Fatal(err)
		}
		n.Kill()
		n.Restart()
		if commit {
			if err := prod.ProduceSync(ctx, rec(topics[2], 0, v)).FirstErr(); err != nil {
				t.Fatalf("produce after the restart: %v", err)
			}
		}
		if err := prod.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatalf("end transaction (commit=%v) after the restart: %v", commit, err)
		}
		cancel()
	}
	for i, topic := range topics {
		want := []string{"true"} // only the committed transaction
		if got := values(readAll(t, px.addr(), topic, true)); !slices.Equal(got, want) {
			t.Fatalf("%s read_committed %v, want %v", topic, got, want)
		}
		want = []string{"false", "true"} // both, the aborted one's records stay in the log
		if i == 2 {
			want = []string{"true"}
		}
		if got := values(readAll(t, px.addr(), topic, false)); !slices.Equal(got, want) {
			t.Fatalf("%s read_uncommitted %v, want %v", topic, got, want)
		}
	}
}

// TestIdempotentProducerAcrossBrokerSIGKILL runs `tributary serve` as a
// process and SIGKILLs it three times while a franz-go idempotent producer
// writes numbered records. A killed broker writes no producer-state snapshot,
// so on each start the partitions rebuild their producer state from the log;
// the producer's retries of batches the dead broker had written but not
// acknowledged must be recognised as duplicates. Afterwards the log holds every
// acknowledged record exactly once, in order per partition.
func TestIdempotentProducerAcrossBrokerSIGKILL(t *testing.T) {
	const (
		records    = 60_000
		partitions = 3
		kills      = 3
		topic      = "crash"
	)
	n, px := startServe(t)
	createTopics(t, px.addr(), partitions, topic)
	prod := newClient(t, px.addr(),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(time.Millisecond),
		kgo.ProducerBatchMaxBytes(4<<10), // many small batches, several in flight at a kill
		kgo.MaxBufferedRecords(4000),
		kgo.RetryBackoffFn(func(int) time.Duration { return 20 * time.Millisecond }),
		kgo.MetadataMinAge(50*time.Millisecond),
	)

	var acked sync.Map // record number -> true
	var ackedN, failed atomic.Int64
	var firstErr atomic.Pointer[error]
	// The producer asks for a kill after every quarter of the records it has
	// handed to the client and goes on producing, so batches are in flight
	// at each kill.
	killNow := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(killNow)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		for i := range uint64(records) {
			if i > 0 && i%(records/(kills+1)) == 0 {
				select {
				case killNow <- struct{}{}:
				case <-ctx.Done():
				}
			}
			prod.Produce(ctx, &kgo.Record{Topic: topic, Partition: int32(i % partitions), Value: u64(i)}, func(r *kgo.Record, err error) {
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, &err)
					return
				}
				v, _ := fromU64(r.Value)
				acked.Store(v, true)
				ackedN.Add(1)
			})
		}
		_ = prod.Flush(ctx)
	}()

	// written is how many records the broker's log holds, asked directly (not
	// through the proxy).
	direct := newClient(t, n.Kafka())
	written := func() int64 {
		req := kmsg.NewPtrListOffsetsRequest()
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = topic
		for p := range int32(partitions) {
			rp := kmsg.NewListOffsetsRequestTopicPartition()
			rp.Partition, rp.Timestamp = p, -1
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		resp, err := direct.SeedBrokers()[0].Request(ctx, req)
		if err != nil {
			return 0
		}
		var sum int64
		for _, p := range resp.(*kmsg.ListOffsetsResponse).Topics[0].Partitions {
			sum += p.Offset
		}
		return sum
	}

	killed, unacked := 0, int64(0)
	for range killNow {
		// Drop the broker's answers until it has written records the
		// producer has no acknowledgement for, then kill it: after the
		// restart those batches come back as retries to a broker that knows
		// the producer only from its log.
		px.mute(true)
		waitFor(t, 30*time.Second, "the broker to write unacknowledged records", func() bool {
			return written() > ackedN.Load()
		})
		unacked += written() - ackedN.Load()
		n.Kill()
		px.cut()
		px.mute(false)
		n.Restart()
		killed++
	}
	<-done
	if killed != kills {
		t.Fatalf("%d of %d kills happened (acked %d)", killed, kills, ackedN.Load())
	}
	if f := failed.Load(); f > 0 {
		t.Fatalf("%d records failed; first: %v", f, *firstErr.Load())
	}

	seen := make(map[uint64]int, records)
	last := map[int32]uint64{}
	for _, r := range readAll(t, px.addr(), topic, false) {
		v, ok := fromU64(r.Value)
		if !ok {
			t.Fatalf("foreign record %q at %d@%d", r.Value, r.Partition, r.Offset)
		}
		if seen[v]++; seen[v] > 1 {
			t.Fatalf("record %d written twice (again at %d@%d)", v, r.Partition, r.Offset)
		}
		if prev, ok := last[r.Partition]; ok && v <= prev {
			t.Fatalf("partition %d: record %d after %d", r.Partition, v, prev)
		}
		last[r.Partition] = v
	}
	missing := 0
	acked.Range(func(k, _ any) bool {
		if seen[k.(uint64)] != 1 {
			missing++
		}
		return true
	})
	if missing > 0 || len(seen) != records {
		t.Fatalf("%d acknowledged records missing; the log holds %d of %d", missing, len(seen), records)
	}
	t.Logf("%d records exactly once across %d broker SIGKILLs (about %d written but unacknowledged at the kills)", records, killed, unacked)
}
