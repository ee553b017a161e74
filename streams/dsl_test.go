package streams_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/streams"
	"github.com/tributary-io/tributary/streams/streamstest"
)

// TestStatelessOperators runs each stateless operator over the same input
// and compares the output topic with the expected records.
func TestStatelessOperators(t *testing.T) {
	input := []string{"a1", "b22", "c333", "a4444"}
	tests := []struct {
		name  string
		build func(s *streams.Stream[string, string])
		want  []string // "key=value" on topic out
	}{
		{"filter", func(s *streams.Stream[string, string]) {
			s.Filter(func(k, _ string) bool { return k == "a" }).To("out", streams.String(), streams.String())
		}, []string{"a=a1", "a=a4444"}},
		{"map", func(s *streams.Stream[string, string]) {
			streams.Map(s, func(k, v string) (string, string) { return v, k }).To("out", streams.String(), streams.String())
		}, []string{"a1=a", "b22=b", "c333=c", "a4444=a"}},
		{"map values", func(s *streams.Stream[string, string]) {
			streams.MapValues(s, func(_, v string) string { return strings.ToUpper(v) }).To("out", streams.String(), streams.String())
		}, []string{"a=A1", "b=B22", "c=C333", "a=A4444"}},
		{"flat map", func(s *streams.Stream[string, string]) {
			streams.FlatMap(s, func(k, v string) []streams.KeyValue[string, string] {
				if len(v) > 3 {
					return nil
				}
				return []streams.KeyValue[string, string]{streams.KV(k, v), streams.KV(k+k, v)}
			}).To("out", streams.String(), streams.String())
		}, []string{"a=a1", "aa=a1", "b=b22", "bb=b22"}},
		{"branch and merge", func(s *streams.Stream[string, string]) {
			br := s.Branch(func(k, _ string) bool { return k == "a" }, func(k, _ string) bool { return k != "c" })
			streams.MapValues(br[0], func(_, v string) string { return "A:" + v }).
				Merge(streams.MapValues(br[1], func(_, v string) string { return "other:" + v })).
				To("out", streams.String(), streams.String())
		}, []string{"a=A:a1", "b=other:b22", "a=A:a4444"}},
		{"peek", func(s *streams.Stream[string, string]) {
			var seen []string
			s.Peek(func(k, _ string) { seen = append(seen, k) }).
				Filter(func(string, string) bool { return len(seen) > 0 }).
				To("out", streams.String(), streams.String())
		}, []string{"a=a1", "b=b22", "c=c333", "a=a4444"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := streams.NewBuilder()
			tt.build(streams.FromTopic(b, streams.String(), streams.String(), "in"))
			d := buildDriver(t, b)
			in := streamstest.Input(d, "in", streams.String(), streams.String())
			for i, v := range input {
				if err := in.Pipe(v[:1], v, int64(i)); err != nil {
					t.Fatal(err)
				}
			}
			recs, err := streamstest.Output(d, "out", streams.String(), streams.String()).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range recs {
				got = append(got, r.Key+"="+r.Value)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestAggregations checks Reduce and Aggregate per key, after a GroupBy
// that repartitions.
func TestAggregations(t *testing.T) {
	b := streams.NewBuilder()
	nums := streams.FromTopic(b, streams.String(), streams.Int64(), "nums")
	byParity := streams.GroupBy(nums, "parity", func(_ string, n int64) string {
		if n%2 == 0 {
			return "even"
		}
		return "odd"
	}, streams.String(), streams.Int64())
	streams.Reduce(byParity, "max", func(a, v int64) int64 { return max(a, v) }).ToStream().To("max", streams.String(), streams.Int64())
	streams.Aggregate(byParity, "list", func() string { return "" }, func(_ string, n int64, acc string) string {
		return acc + fmt.Sprint(n)
	}, streams.String()).ToStream().To("list", streams.String(), streams.String())
	d := buildDriver(t, b)
	in := streamstest.Input(d, "nums", streams.String(), streams.Int64())
	for i, n := range []int64{3, 8, 5, 2, 9, 4} {
		if err := in.Pipe("x", n, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	maxes, err := streamstest.ReadTable(streamstest.Output(d, "max", streams.String(), streams.Int64()))
	if err != nil {
		t.Fatal(err)
	}
	lists, err := streamstest.ReadTable(streamstest.Output(d, "list", streams.String(), streams.String()))
	if err != nil {
		t.Fatal(err)
	}
	if maxes["even"] != 8 || maxes["odd"] != 9 || lists["even"] != "824" || lists["odd"] != "359" {
		t.Fatalf("max %v, lists %v", maxes, lists)
	}
}

// punctuating forwards, on each punctuation, how many records it saw since
// the last one, keyed by the kind of time.
type punctuating struct {
	kind streams.PunctuationType
	seen int64
}

func (p *punctuating) Init(ctx streams.ProcessorContext[string, int64]) error {
	name := map[streams.PunctuationType]string{streams.StreamTime: "stream", streams.WallClockTime: "wall"}[p.kind]
	ctx.Schedule(100*time.Millisecond, p.kind, func(ts int64) error {
		n := p.seen
		p.seen = 0
		return ctx.Forward(name, n, ts)
	})
	return nil
}

func (p *punctuating) Process(string, string, int64) error { p.seen++; return nil }

// TestPunctuators checks that stream-time punctuators fire as record
// timestamps advance and wall-clock ones as the driver's clock advances.
func TestPunctuators(t *testing.T) {
	tests := []struct {
		kind streams.PunctuationType
		// steps: a record at ts >= 0, or a wall-clock advance (ms) for -adv.
		steps []int64
		want  []string
	}{
		{streams.StreamTime, []int64{0, 50, 99, 100, 150, 250, 260}, []string{"stream=4@100", "stream=2@250"}},
		{streams.WallClockTime, []int64{0, 1, -50, 2, -50, 3, -200, -10}, []string{"wall=3@100", "wall=1@300"}},
	}
	for _, tt := range tests {
		b := streams.NewBuilder()
		s := streams.FromTopic(b, streams.String(), streams.String(), "in")
		kind := tt.kind
		streams.Process(s, func() streams.Processor[string, string, string, int64] { return &punctuating{kind: kind} }).
			To("out", streams.String(), streams.Int64())
		d := buildDriver(t, b)
		// The first wall-clock check starts the punctuator's period.
		if err := d.AdvanceWallClock(0); err != nil {
			t.Fatal(err)
		}
		in := streamstest.Input(d, "in", streams.String(), streams.String())
		for _, st := range tt.steps {
			var err error
			if st < 0 {
				err = d.AdvanceWallClock(time.Duration(-st) * time.Millisecond)
			} else {
				err = in.Pipe("k", "v", st)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		recs, err := streamstest.Output(d, "out", streams.String(), streams.Int64()).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range recs {
			got = append(got, fmt.Sprintf("%s=%d@%d", r.Key, r.Value, r.Timestamp))
		}
		if !slices.Equal(got, tt.want) {
			t.Fatalf("kind %d: got %v, want %v", tt.kind, got, tt.want)
		}
	}
}
