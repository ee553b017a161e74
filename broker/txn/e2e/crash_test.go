package e2e

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/platform/nodetest"
)

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
	bin, err := nodetest.Build()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bin.Remove)
	// Clients reach the broker through the proxy (it advertises the proxy's
	// address), so the test can drop the answers of requests in flight.
	px := newProxy(t)
	n := bin.StartNode(t, nodetest.Flags("--worker-disabled", "--advertised-listeners", px.addr()))
	px.setBackend(n.Kafka())
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
