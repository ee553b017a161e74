package stateful

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/pipelines/spec"
	"github.com/tributary-io/tributary/streams"
	"github.com/tributary-io/tributary/streams/examples"
	"github.com/tributary-io/tributary/streams/streamstest"
)

// manifest is a Pipeline manifest reading in and writing out (or the
// outputs given) with the processors given, indented under processors.
func manifest(processors string, extra ...string) string {
	outputs := "  outputs: [{topic: out}]\n"
	if len(extra) > 0 {
		outputs = extra[0]
	}
	return "apiVersion: tributary.io/v1\nkind: Pipeline\nmetadata: {name: p}\nspec:\n  input: {topics: [in]}\n  processors:\n" +
		processors + outputs
}

func plan(t testing.TB, src string) *Plan {
	t.Helper()
	ms, probs := spec.Parse("p.yaml", []byte(src))
	if len(probs) > 0 {
		t.Fatalf("parse: %v", probs)
	}
	pl, probs := Compile(ms[0].Name, ms[0].Pipeline)
	if len(probs) > 0 {
		t.Fatalf("compile: %v", probs)
	}
	return pl
}

func rec(topic, key, value string, ts int64) *kgo.Record {
	r := &kgo.Record{Topic: topic, Value: []byte(value), Timestamp: time.UnixMilli(ts)}
	if key != "" {
		r.Key = []byte(key)
	}
	return r
}

type window struct {
	user       string
	start, end int64
}

// TestTumblingWindowMatchesGoDSL runs the same out-of-order page views
// through a manifest (5-minute tumbling windows, one minute of grace, final
// results only) and through the Go DSL example, and compares the windows.
func TestTumblingWindowMatchesGoDSL(t *testing.T) {
	pl := plan(t, manifest(`    - set: {timestamp: value.at}
    - window: {type: tumbling, size: 5m, grace: 1m, emit: final}
    - aggregate: {key: value.user, op: count}
`, "  outputs: [{topic: per-user}]\n"))
	var c Counters
	top, err := pl.Topology(&c)
	if err != nil {
		t.Fatal(err)
	}
	b := streams.NewBuilder()
	examples.PageViewsPerUser(b, "in", "per-user", time.Minute)
	goTop, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	yamlD, goD := driver(t, top), driver(t, goTop)
	views := pageViews(5_000, 1)
	for i, raw := range views {
		for _, d := range []*streamstest.Driver{yamlD, goD} {
			if err := streamstest.Input(d, "in", streams.String(), streams.Bytes()).Pipe("", raw, int64(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := goWindows(t, goD, "per-user")
	yamlRecs, err := streamstest.Output(yamlD, "per-user", streams.String(), streams.Bytes()).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := map[window]int64{}
	for _, r := range yamlRecs {
		w, n := decodeWindow(t, r.Value)
		if _, dup := got[w]; dup {
			t.Fatalf("window %v emitted twice", w)
		}
		got[w] = n
	}
	if len(want) == 0 || !reflect.DeepEqual(got, want) {
		t.Fatalf("the manifest emitted %d windows, the Go DSL %d; they differ", len(got), len(want))
	}
	if yamlD.LateRecords() != goD.LateRecords() || goD.LateRecords() == 0 {
		t.Fatalf("late records: manifest %d, Go %d (want equal and some)", yamlD.LateRecords(), goD.LateRecords())
	}
	if c.Errors.Load() != 0 || c.In.Load() != uint64(len(views)) || c.Out.Load() != uint64(len(got)) {
		t.Fatalf("counters: in %d, out %d, errors %d", c.In.Load(), c.Out.Load(), c.Errors.Load())
	}
}

func driver(t *testing.T, top *streams.Topology) *streamstest.Driver {
	t.Helper()
	d, err := streamstest.New(top, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// pageViews are n JSON page views of 7 users, up to two minutes out of
// order.
func pageViews(n int, seed uint64) [][]byte {
	rng := rand.New(rand.NewPCG(seed, 2))
	out := make([][]byte, n)
	for i := range out {
		at := int64(i)*1_000 - rng.Int64N(120_000)
		out[i], _ = json.Marshal(examples.PageView{User: fmt.Sprintf("u%d", rng.IntN(7)), Page: "/", At: max(at, 0)})
	}
	return out
}

func goWindows(t *testing.T, d *streamstest.Driver, topic string) map[window]int64 {
	t.Helper()
	recs, err := streamstest.Output(d, topic, streams.WindowedSerde(streams.String()), streams.Int64()).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := map[window]int64{}
	for _, r := range recs {
		want[window{r.Key.Key, r.Key.Start, r.Key.End}] = r.Value
	}
	return want
}

func decodeWindow(t *testing.T, b []byte) (window, int64) {
	t.Helper()
	var v struct {
		Key        string
		Start, End int64
		Value      int64
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("output %s: %v", b, err)
	}
	return window{v.Key, v.Start, v.End}, v.Value
}

// TestAggregateOps checks each aggregate op per key against a direct
// computation, with a filter before and a map after the aggregate.
func TestAggregateOps(t *testing.T) {
	amounts := map[string][]float64{"a": {3, 1.5, 7}, "b": {2}, "c": {-1, 4}}
	sum := func(xs []float64) float64 {
		s := 0.0
		for _, x := range xs {
			s += x
		}
		return s
	}
	tests := []struct {
		op   string
		want func(xs []float64) any
	}{
		{"count", func(xs []float64) any { return len(xs) }},
		{"sum", func(xs []float64) any { return sum(xs) }},
		{"min", func(xs []float64) any { return slicesMin(xs) }},
		{"max", func(xs []float64) any { return -slicesMin(neg(xs)) }},
		{"avg", func(xs []float64) any { return sum(xs) / float64(len(xs)) }},
		{"collect", func(xs []float64) any { return xs }},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			field := ""
			if tt.op != "count" {
				field = ", field: value.amount"
			}
			pl := plan(t, manifest(`    - filter: value.k != "skip"
    - aggregate: {key: value.k, op: `+tt.op+field+`}
    - map: {value: '{"k": value.key, "result": value.value}'}
`))
			var in []*kgo.Record
			for i := range 3 {
				for _, k := range []string{"a", "b", "c"} {
					if i < len(amounts[k]) {
						in = append(in, rec("in", "", fmt.Sprintf(`{"k":%q,"amount":%v}`, k, amounts[k][i]), int64(i)))
					}
				}
			}
			in = append(in, rec("in", "", `{"k":"skip","amount":100}`, 9))
			var c Counters
			out, err := pl.Offline(in, &c)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, r := range out {
				var v struct {
					K      string
					Result json.RawMessage
				}
				if err := json.Unmarshal(r.Value, &v); err != nil || v.K != string(r.Key) {
					t.Fatalf("output %s=%s: %v", r.Key, r.Value, err)
				}
				got[v.K] = string(v.Result)
			}
			for k, xs := range amounts {
				want, _ := json.Marshal(tt.want(xs))
				if got[k] != string(want) {
					t.Errorf("%s %s = %s, want %s", tt.op, k, got[k], want)
				}
			}
			if c.Filtered.Load() != 1 || len(got) != 3 {
				t.Fatalf("filtered %d, keys %d", c.Filtered.Load(), len(got))
			}
		})
	}
}

func slicesMin(xs []float64) float64 {
	m := xs[0]
	for _, x := range xs {
		m = min(m, x)
	}
	return m
}

func neg(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = -x
	}
	return out
}

// TestJoinStep enriches records with a table row, by the record key or a
// key expression, and keeps (left) or drops (inner) those without a row.
func TestJoinStep(t *testing.T) {
	tests := []struct {
		name, join string
		orderKey   bool // orders carry the user as their key
		want       []string
	}{
		{"left by record key", "{table: users, as: user}", true,
			[]string{`u1={"id":1,"user":{"name":"Ann"},"who":"u1"}`, `u2={"id":2,"user":null,"who":"u2"}`, `u1={"id":3,"user":{"name":"Bo"},"who":"u1"}`}},
		{"inner by record key", "{table: users, type: inner}", true,
			[]string{`u1={"id":1,"users":{"name":"Ann"},"who":"u1"}`, `u1={"id":3,"users":{"name":"Bo"},"who":"u1"}`}},
		{"left by key expression", "{table: users, key: value.who, as: user}", false,
			[]string{`u1={"id":1,"user":{"name":"Ann"},"who":"u1"}`, `u2={"id":2,"user":null,"who":"u2"}`, `u1={"id":3,"user":{"name":"Bo"},"who":"u1"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl := plan(t, manifest("    - join: "+tt.join+"\n"))
			key := func(user string) string {
				if tt.orderKey {
					return user
				}
				return ""
			}
			out, err := pl.Offline([]*kgo.Record{
				rec("users", "u1", `{"name":"Ann"}`, 1),
				rec("in", key("u1"), `{"id":1,"who":"u1"}`, 2),
				rec("in", key("u2"), `{"id":2,"who":"u2"}`, 3),
				rec("users", "u1", `{"name":"Bo"}`, 4),
				rec("in", key("u1"), `{"id":3,"who":"u1"}`, 5),
			}, &Counters{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range out {
				got = append(got, string(r.Key)+"="+string(r.Value))
			}
			if strings.Join(got, ";") != strings.Join(tt.want, ";") {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestRecordErrors checks onError for expressions that fail in stateless
// and stateful steps: drop counts and goes on, stop ends with ErrRecord
// naming the processor as the manifest numbers it.
func TestRecordErrors(t *testing.T) {
	procs := `    - filter: value.n > 0
    - aggregate: {key: value.k, op: sum, field: value.n}
`
	in := []*kgo.Record{
		rec("in", "", `{"k":"a","n":1}`, 1),
		rec("in", "", `"text"`, 2),            // filter fails: value is text
		rec("in", "", `{"k":"a","n":"x"}`, 3), // filter fails: string > 0
		rec("in", "", `{"k":"a","n":2}`, 4),
		rec("in", "", `{"k":{"x":1},"n":3}`, 5), // key is a map: encoded as JSON, fine
	}
	drop := strings.Replace(manifest(procs), "  outputs:", "  onError: drop\n  outputs:", 1)
	var c Counters
	out, err := plan(t, drop).Offline(in, &c)
	if err != nil {
		t.Fatal(err)
	}
	if c.Errors.Load() != 2 || len(out) != 3 {
		t.Fatalf("drop: errors %d, outputs %d", c.Errors.Load(), len(out))
	}
	_, err = plan(t, manifest(procs)).Offline(in, &Counters{})
	if !errors.Is(err, ErrRecord) || !strings.Contains(err.Error(), "processor 0 (filter at p.yaml:7:7)") {
		t.Fatalf("stop: %v", err)
	}
	sumText := manifest("    - aggregate: {key: value.k, op: sum, field: value.n}\n")
	_, err = plan(t, sumText).Offline([]*kgo.Record{rec("in", "", `{"k":"a","n":"x"}`, 1)}, &Counters{})
	if !errors.Is(err, ErrRecord) || !strings.Contains(err.Error(), "processor 0 (aggregate at p.yaml:7:7): field: sum needs a number") {
		t.Fatalf("stop in aggregate: %v", err)
	}
}

// TestRouteAfterAggregate sends aggregate results to outputs chosen by a
// route after the aggregate.
func TestRouteAfterAggregate(t *testing.T) {
	pl := plan(t, manifest(`    - aggregate: {key: value.k, op: count}
    - route:
        - {when: value.value >= 2, to: busy}
        - {to: [quiet, all]}
`, "  outputs: [{name: busy, topic: busy-t}, {name: quiet, topic: quiet-t}, {name: all, topic: all-t}]\n"))
	out, err := pl.Offline([]*kgo.Record{
		rec("in", "", `{"k":"a"}`, 1), rec("in", "", `{"k":"a"}`, 2), rec("in", "", `{"k":"b"}`, 3),
	}, &Counters{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range out {
		got = append(got, r.Topic+":"+string(r.Key))
	}
	want := "quiet-t:a;all-t:a;busy-t:a;quiet-t:b;all-t:b"
	if strings.Join(got, ";") != want {
		t.Fatalf("got %v, want %s", got, want)
	}
}
