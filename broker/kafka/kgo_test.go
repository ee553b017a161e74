package kafka

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestKgoDefaultOptions produces with kgo's defaults (idempotent writes, acks=all)
// and consumes with its defaults: kgo gets a producer id from InitProducerId and
// writes sequenced batches, and every record must come back in order.
func TestKgoDefaultOptions(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.NumPartitions = 2 })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	prod, err := kgo.NewClient(kgo.SeedBrokers(ts.addr), kgo.DefaultProduceTopic("defaults"), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	const n = 2000
	for i := range n {
		r := &kgo.Record{Key: []byte{byte(i % 7)}, Value: []byte(fmt.Sprintf("%06d", i))}
		prod.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Errorf("produce: %v", err)
			}
		})
	}
	if err := prod.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	cons, err := kgo.NewClient(kgo.SeedBrokers(ts.addr), kgo.ConsumeTopics("defaults"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	last := map[int32]string{}
	got := 0
	for got < n {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d", got, n)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			if string(r.Value) <= last[r.Partition] {
				t.Fatalf("partition %d: %s after %s", r.Partition, r.Value, last[r.Partition])
			}
			last[r.Partition] = string(r.Value)
			got++
		})
	}
	if got != n || len(last) != 2 {
		t.Fatalf("consumed %d records from %d partitions", got, len(last))
	}
}
