package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/pipelines/runner"
)

const benchRecords = 200_000

const benchPipeline = `apiVersion: tributary.io/v1
kind: Pipeline
metadata: {name: %s}
spec:
  input: {topics: [bench-in]}
  processors:
    - filter: value.id %% 10 != 3
    - map:
        key: string(value.id)
        value: '{"id": value.id, "double": value.id * 2, "tag": value.tag}'
  outputs: [{topic: %s}]
  delivery: %s
  onError: drop
`

// BenchmarkFilterMap measures records per second through a filter+map
// pipeline (runner, expressions) against a plain franz-go consume→produce
// loop doing the same filter and map by hand (encoding/json), on the same
// input topic, for each delivery guarantee. Each iteration consumes the
// 200,000 input records with a new group and writes to a new topic. ns/op
// includes starting up (clients, joining the group); records/s counts from
// the first record processed to the last, the steady rate. Run it with:
//
//	go test ./pipelines/e2e -run '^$' -bench FilterMap -benchtime 2x
func BenchmarkFilterMap(b *testing.B) {
	addr := startBroker(b)
	createTopics(b, addr, 4, "bench-in")
	recs := make([]*kgo.Record, benchRecords)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: "bench-in", Value: fmt.Appendf(nil, `{"id":%d,"tag":"t-%d","padding":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`, i, i%7)}
	}
	produce(b, addr, recs)
	run := 0
	next := func() (group, out string) {
		run++
		out = fmt.Sprintf("bench-out-%d", run)
		createTopics(b, addr, 4, out)
		return fmt.Sprintf("bench-%d", run), out
	}
	for _, delivery := range []string{"at-least-once", "exactly-once"} {
		b.Run("pipeline/"+delivery, func(b *testing.B) {
			var steady time.Duration
			for range b.N {
				b.StopTimer()
				name, out := next()
				cfg := load(b, addr, fmt.Sprintf(benchPipeline, name, out, delivery), name)
				cfg.Logger = slog.New(slog.DiscardHandler)
				cfg.MaxPollRecords = 2000
				r, err := runner.New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				b.StartTimer()
				go func() { done <- r.Run(ctx) }()
				first := pollUntil(b, func() bool { return r.Stats().In > 0 })
				last := pollUntil(b, func() bool { return r.Stats().In >= benchRecords })
				b.StopTimer()
				steady += last.Sub(first)
				cancel()
				if err := <-done; err != nil {
					b.Fatal(err)
				}
				if s := r.Stats(); s.Out != benchRecords-benchRecords/10 {
					b.Fatalf("stats %+v", s)
				}
			}
			b.ReportMetric(float64(benchRecords*b.N)/steady.Seconds(), "records/s")
		})
		b.Run("plain-kgo/"+delivery, func(b *testing.B) {
			var steady time.Duration
			for range b.N {
				b.StopTimer()
				group, out := next()
				b.StartTimer()
				produced, took := plainLoop(b, addr, group, out, delivery == "exactly-once")
				b.StopTimer()
				steady += took
				if produced != benchRecords-benchRecords/10 {
					b.Fatalf("produced %d", produced)
				}
			}
			b.ReportMetric(float64(benchRecords*b.N)/steady.Seconds(), "records/s")
		})
	}
}

// pollUntil checks cond every millisecond (bounded by five minutes) and
// returns when it first held.
func pollUntil(b *testing.B, cond func() bool) time.Time {
	deadline := time.Now().Add(5 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
	return time.Now()
}

// plainLoop is the hand-written twin of the benchmark pipeline: consume in
// a group, decode JSON, filter, build the new value, produce, commit — with
// a transaction per batch when eos. It returns the records produced and the
// time from the first record polled to the last commit.
func plainLoop(b *testing.B, addr, group, out string, eos bool) (int, time.Duration) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(addr), kgo.ConsumerGroup(group), kgo.ConsumeTopics("bench-in"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
	}
	ctx := context.Background()
	transform := func(r *kgo.Record) *kgo.Record {
		var v map[string]any
		if err := json.Unmarshal(r.Value, &v); err != nil {
			return nil
		}
		id, _ := v["id"].(float64)
		if int(id)%10 == 3 {
			return nil
		}
		val, err := json.Marshal(map[string]any{"id": int(id), "double": int(id) * 2, "tag": v["tag"]})
		if err != nil {
			return nil
		}
		return &kgo.Record{Topic: out, Key: []byte(strconv.Itoa(int(id))), Value: val, Timestamp: r.Timestamp, Headers: r.Headers}
	}
	consumed, produced := 0, 0
	var first time.Time
	started := func() {
		if first.IsZero() {
			first = time.Now()
		}
	}
	if eos {
		sess, err := kgo.NewGroupTransactSession(append(opts, kgo.TransactionalID("bench-"+group))...)
		if err != nil {
			b.Fatal(err)
		}
		defer sess.Close()
		for consumed < benchRecords {
			recs := sess.PollRecords(ctx, 2000).Records()
			if len(recs) == 0 {
				continue
			}
			started()
			if err := sess.Begin(); err != nil {
				b.Fatal(err)
			}
			p := kgo.AbortingFirstErrPromise(sess.Client())
			n := 0
			for _, r := range recs {
				if o := transform(r); o != nil {
					sess.Produce(ctx, o, p.Promise())
					n++
				}
			}
			committed, err := sess.End(ctx, p.Err() == nil)
			if err != nil {
				b.Fatal(err)
			}
			if committed {
				consumed += len(recs)
				produced += n
			}
		}
		return produced, time.Since(first)
	}
	cl, err := kgo.NewClient(append(opts, kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll())...)
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	for consumed < benchRecords {
		recs := cl.PollRecords(ctx, 2000).Records()
		if len(recs) > 0 {
			started()
		}
		var p kgo.FirstErrPromise
		for _, r := range recs {
			if o := transform(r); o != nil {
				cl.Produce(ctx, o, p.Promise())
				produced++
			}
		}
		if err := p.Err(); err != nil {
			b.Fatal(err)
		}
		if err := cl.CommitRecords(ctx, recs...); err != nil {
			b.Fatal(err)
		}
		cl.AllowRebalance()
		consumed += len(recs)
	}
	return produced, time.Since(first)
}
