package kafka_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestAdminSegmentAndCleanupChangesTakeEffect alters segment.bytes and then
// cleanup.policy of a live topic through kadm and checks each change reaches
// the partition's log without a restart: later appends roll at the new
// segment size, and the background cleaner starts compacting.
func TestAdminSegmentAndCleanupChangesTakeEffect(t *testing.T) {
	e := startAdminEnv(t, "")
	const topic, keys = "live", 5
	e.createTopic(topic, 1, nil) // broker-wide 8 MiB segments, cleanup.policy=delete
	cl := e.producer()
	ctx := testCtx(t)
	next := 0
	produceKeyed := func(n int) {
		t.Helper()
		for range n {
			r := &kgo.Record{Topic: topic, Key: fmt.Appendf(nil, "k%d", next%keys),
				Value: fmt.Appendf(nil, "%d-%0200d", next, next)}
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatalf("produce %d: %v", next, err)
			}
			next++
		}
	}
	alter := func(name, value string) {
		t.Helper()
		resps, err := e.adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: name, Value: &value}}, topic)
		if err == nil {
			_, err = resps.On(topic, func(r *kadm.AlterConfigsResponse) error { return r.Err })
		}
		if err != nil {
			t.Fatalf("alter %s=%s: %v", name, value, err)
		}
	}

	produceKeyed(20)
	if n := e.segmentFiles(topic, 0); n != 1 {
		t.Fatalf("%d segments before the change, want 1", n)
	}
	alter("segment.bytes", "1024")
	produceKeyed(40)
	// About 300 bytes a batch: 40 batches at 1 KiB a segment is a dozen or more.
	if n := e.segmentFiles(topic, 0); n < 10 {
		t.Fatalf("%d segments after segment.bytes=1024 and 40 more batches, want at least 10", n)
	}

	// Nothing is compacted under cleanup.policy=delete.
	if recs := readPartition(t, e.addr, topic, int64(next)); len(recs) != next {
		t.Fatalf("read %d records before compaction was enabled, want %d", len(recs), next)
	}
	alter("cleanup.policy", "compact")
	eventually(t, 20*time.Second, func() error {
		recs := readPartition(t, e.addr, topic, int64(next))
		if len(recs) >= next-keys {
			return fmt.Errorf("%d of %d records left, want the cleaner to have removed superseded ones", len(recs), next)
		}
		return nil
	})
	// What is left: offsets kept, and per key the latest value is the last one written.
	recs := readPartition(t, e.addr, topic, int64(next))
	latest := map[string]string{}
	for i, r := range recs {
		if want := fmt.Sprintf("%d-%0200d", r.Offset, r.Offset); string(r.Value) != want {
			t.Fatalf("record at offset %d holds %.20q", r.Offset, r.Value)
		}
		if i > 0 && r.Offset <= recs[i-1].Offset {
			t.Fatalf("offset %d after %d", r.Offset, recs[i-1].Offset)
		}
		latest[string(r.Key)] = string(r.Value)
	}
	for k := range keys {
		last := next - keys + (k-next%keys+keys)%keys
		if got, want := latest[fmt.Sprintf("k%d", k)], fmt.Sprintf("%d-%0200d", last, last); got != want {
			t.Fatalf("key k%d: latest %.20q, want %.20q", k, got, want)
		}
	}
}

// readPartition reads partition 0 of topic from its start up to end.
func readPartition(t *testing.T, addr, topic string, end int64) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) == 0 || out[len(out)-1].Offset < end-1 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d records of %s before the deadline, want up to offset %d", len(out), topic, end-1)
		}
		fs.EachError(func(tp string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", tp, p, err) })
		out = append(out, fs.Records()...)
	}
	return out
}
