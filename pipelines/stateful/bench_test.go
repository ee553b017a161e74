package stateful

import (
	"testing"
	"time"

	"github.com/tributary-io/tributary/streams"
	"github.com/tributary-io/tributary/streams/examples"
	"github.com/tributary-io/tributary/streams/streamstest"
)

// BenchmarkWindowedCount puts page views through the manifest's tumbling
// window count and through the same topology in the Go DSL, on the test
// driver (no broker), so the cost of the manifest path (expressions,
// JSON values, the accumulator) over typed Go shows as records/s.
func BenchmarkWindowedCount(b *testing.B) {
	views := pageViews(10_000, 3)
	for _, tt := range []struct {
		name  string
		build func(b *testing.B) *streams.Topology
	}{
		{"manifest", func(b *testing.B) *streams.Topology {
			pl := plan(b, manifest(`    - set: {timestamp: value.at}
    - window: {type: tumbling, size: 5m, grace: 1m, emit: final}
    - aggregate: {key: value.user, op: count}
`, "  outputs: [{topic: per-user}]\n"))
			top, err := pl.Topology(&Counters{})
			if err != nil {
				b.Fatal(err)
			}
			return top
		}},
		{"go-dsl", func(b *testing.B) *streams.Topology {
			bld := streams.NewBuilder()
			examples.PageViewsPerUser(bld, "in", "per-user", time.Minute)
			top, err := bld.Build()
			if err != nil {
				b.Fatal(err)
			}
			return top
		}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			top := tt.build(b)
			n := 0
			for b.Loop() {
				d, err := streamstest.New(top, time.Unix(0, 0))
				if err != nil {
					b.Fatal(err)
				}
				in := streamstest.Input(d, "in", streams.String(), streams.Bytes())
				for i, v := range views {
					if err := in.Pipe("", v, int64(i)); err != nil {
						b.Fatal(err)
					}
				}
				n += len(views)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
