package e2e

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestIdempotentProducerCutsAndRestarts produces 200,000 numbered records with
// franz-go's idempotent producer while a proxy cuts every connection again and
// again and the broker is restarted several times. Retries after a cut resend
// batches the broker may already have written; the log must still hold every
// acknowledged record exactly once, in the order produced, per partition.
func TestIdempotentProducerCutsAndRestarts(t *testing.T) {
	const (
		records    = 200_000
		partitions = 4
		restarts   = 3
		topic      = "idempotent"
	)
	n := startNode(t, nil)
	createTopics(t, n.addr(), partitions, topic)
	prod := newClient(t, n.addr(),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(time.Millisecond),
		// Small batches and a small buffer: thousands of produce requests, a
		// few in flight at every cut, so retries resend batches already written.
		kgo.ProducerBatchMaxBytes(2<<10),
		kgo.MaxBufferedRecords(2000),
		kgo.RetryBackoffFn(func(int) time.Duration { return 5 * time.Millisecond }),
		// A cut makes the client reload metadata before it retries; let it.
		kgo.MetadataMinAge(10*time.Millisecond),
	)

	var acked sync.Map // record number -> true
	var ackedN, failed atomic.Int64
	var firstErr atomic.Pointer[error]
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		for i := range uint64(records) {
			r := &kgo.Record{Topic: topic, Partition: int32(i % partitions), Value: u64(i)}
			prod.Produce(ctx, r, func(r *kgo.Record, err error) {
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

	// Cut every connection after each cutEvery acknowledged records (so the
	// producer always progresses between cuts, however slow the machine), and
	// restart the broker after every quarter of the records. Bounded: the loop
	// ends with the producer, or after 20000 rounds of 10ms.
	const cutEvery = 1000
	cuts, restarted := 0, 0
	lastCut := int64(0)
	ticker := time.NewTicker(10 * time.Millisecond)
	defer ticker.Stop()
loop:
	for round := 0; round < 20000; round++ {
		select {
		case <-done:
			break loop
		case <-ticker.C:
		}
		a := ackedN.Load()
		if restarted < restarts && a >= int64(records*(restarted+1)/(restarts+1)) {
			n.restart()
			restarted++
			continue
		}
		if a-lastCut >= cutEvery {
			cuts += n.proxy.cut()
			lastCut = a
		}
	}
	<-done
	if restarted < restarts {
		t.Fatalf("only %d of %d restarts happened (acked %d)", restarted, restarts, ackedN.Load())
	}
	if f := failed.Load(); f > 0 {
		t.Fatalf("%d records failed; first: %v", f, *firstErr.Load())
	}
	t.Logf("acked %d records through %d cut connections and %d broker restarts", ackedN.Load(), cuts, restarted)

	// One more restart: the producer state must come back from the snapshots too.
	n.restart()
	seen := make(map[uint64]int, records)
	last := map[int32]int64{}
	for _, r := range readAll(t, n.addr(), topic, false) {
		v, ok := fromU64(r.Value)
		if !ok {
			t.Fatalf("foreign record %q at %s/%d@%d", r.Value, r.Topic, r.Partition, r.Offset)
		}
		seen[v]++
		if seen[v] > 1 {
			t.Fatalf("record %d written twice (again at %d/%d)", v, r.Partition, r.Offset)
		}
		if int64(v%partitions) != int64(r.Partition) {
			t.Fatalf("record %d in partition %d", v, r.Partition)
		}
		if prev, ok := last[r.Partition]; ok && int64(v) <= prev {
			t.Fatalf("partition %d: record %d after %d", r.Partition, v, prev)
		}
		last[r.Partition] = int64(v)
	}
	missing := 0
	acked.Range(func(k, _ any) bool {
		if seen[k.(uint64)] != 1 {
			missing++
		}
		return true
	})
	if missing > 0 {
		t.Fatalf("%d acknowledged records are not in the log", missing)
	}
	if len(seen) != records {
		t.Fatalf("the log holds %d records, %d were acknowledged", len(seen), ackedN.Load())
	}
}
