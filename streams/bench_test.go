package streams_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/streams"
	"github.com/tributary-io/tributary/streams/examples"
)

// BenchmarkWordCount measures word-count throughput (input words per second
// through the whole topology: split, repartition, count, output) of one
// instance against a broker process, with exactly-once on and off. Each
// iteration is a new application over the same input.
func BenchmarkWordCount(b *testing.B) {
	const lines, perLine, vocab, in = 50_000, 10, 5_000, "bench-in"
	addr := startBroker(b)
	createTopics(b, addr, 4, false, in)
	rs, _ := wordInput(in, lines, perLine, vocab, 8)
	produce(b, addr, rs)
	for _, eos := range []bool{true, false} {
		b.Run(fmt.Sprintf("eos=%v", eos), func(b *testing.B) {
			var total time.Duration
			for i := 0; i < b.N; i++ {
				app := fmt.Sprintf("bench-%v-%d-%d", eos, i, time.Now().UnixNano())
				out := app + "-out"
				createTopics(b, addr, 4, false, out)
				total += runWordCountOnce(b, addr, app, in, out, !eos)
			}
			words := float64(lines * perLine * b.N)
			b.ReportMetric(words/total.Seconds(), "words/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

func runWordCountOnce(b *testing.B, addr, app, in, out string, atLeastOnce bool) time.Duration {
	b.Helper()
	top := streams.NewBuilder()
	examples.WordCount(top, in, out)
	t, err := top.Build()
	if err != nil {
		b.Fatal(err)
	}
	cfg := wordCountConfig(addr, app, "bench")
	cfg.AtLeastOnce = atLeastOnce
	cfg.ClientOpts = append(cfg.ClientOpts, kgo.FetchMaxWait(50*time.Millisecond))
	a, err := streams.New(t, cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("run: %v", err)
		}
	}()
	actx, acancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer acancel()
	adm := newAdmin(b, addr)
	ends, err := adm.ListEndOffsets(actx, in)
	if err != nil {
		b.Fatal(err)
	}
	waitFor(b, 5*time.Minute, "the benchmark app to finish", func() bool {
		return groupDoneMode(actx, adm, app, in, ends, atLeastOnce)
	})
	return time.Since(start)
}
