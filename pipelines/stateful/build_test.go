package stateful

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/streams"
	"github.com/tributary-io/tributary/streams/examples"
	"github.com/tributary-io/tributary/streams/streamstest"
)

func driver(t *testing.T, top *streams.Topology) *streamstest.Driver {
	t.Helper()
	d, err := streamstest.New(top, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

type window struct {
	user       string
	start, end int64
}

// TestTumblingWindowMatchesGoDSL runs the same out-of-order page views
// through the YAML spec and the Go DSL example (5-minute tumbling windows,
// one minute of grace, final results only) and compares the emitted windows.
func TestTumblingWindowMatchesGoDSL(t *testing.T) {
	spec, err := Parse([]byte(`
input: views
timestamp: value.at
key: value.user
window: {type: tumbling, size: 5m, grace: 1m, emit: final}
aggregate: {op: count}
output: per-user
`))
	if err != nil {
		t.Fatal(err)
	}
	top, errs, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	b := streams.NewBuilder()
	examples.PageViewsPerUser(b, "views", "per-user", time.Minute)
	goTop, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	yamlD, goD := driver(t, top), driver(t, goTop)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 5_000 {
		at := int64(i)*1_000 - rng.Int64N(120_000) // up to two minutes out of order
		v := examples.PageView{User: fmt.Sprintf("u%d", rng.IntN(7)), Page: "/", At: max(at, 0)}
		raw, _ := json.Marshal(v)
		for _, d := range []*streamstest.Driver{yamlD, goD} {
			if err := streamstest.Input(d, "views", streams.String(), streams.Bytes()).Pipe("", raw, int64(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	goRecs, err := streamstest.Output(goD, "per-user", streams.WindowedSerde(streams.String()), streams.Int64()).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := map[window]int64{}
	for _, r := range goRecs {
		want[window{r.Key.Key, r.Key.Start, r.Key.End}] = r.Value
	}
	yamlRecs, err := streamstest.Output(yamlD, "per-user", streams.String(), streams.JSON[map[string]any]()).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := map[window]int64{}
	for _, r := range yamlRecs {
		w := window{r.Value["key"].(string), int64(r.Value["start"].(float64)), int64(r.Value["end"].(float64))}
		if _, dup := got[w]; dup {
			t.Fatalf("window %v emitted twice", w)
		}
		got[w] = int64(r.Value["value"].(float64))
	}
	if len(want) == 0 || !reflect.DeepEqual(got, want) {
		t.Fatalf("YAML emitted %d windows, Go DSL %d; they differ", len(got), len(want))
	}
	if yamlD.LateRecords() != goD.LateRecords() || goD.LateRecords() == 0 {
		t.Fatalf("late records: YAML %d, Go %d (want equal and some)", yamlD.LateRecords(), goD.LateRecords())
	}
	if errs.Count != 0 {
		t.Fatalf("%d expression errors, last %v", errs.Count, errs.Last)
	}
}

// TestAggregateOps checks each aggregate op per key against a direct
// computation.
func TestAggregateOps(t *testing.T) {
	amounts := map[string][]float64{"a": {3, 1.5, 7}, "b": {2}, "c": {-1, 4}}
	tests := []struct {
		op   string
		want func(xs []float64) any
	}{
		{"count", func(xs []float64) any { return float64(len(xs)) }},
		{"sum", func(xs []float64) any {
			s := 0.0
			for _, x := range xs {
				s += x
			}
			return s
		}},
		{"min", func(xs []float64) any {
			m := xs[0]
			for _, x := range xs {
				m = min(m, x)
			}
			return m
		}},
		{"max", func(xs []float64) any {
			m := xs[0]
			for _, x := range xs {
				m = max(m, x)
			}
			return m
		}},
		{"avg", func(xs []float64) any {
			s := 0.0
			for _, x := range xs {
				s += x
			}
			return s / float64(len(xs))
		}},
		{"collect", func(xs []float64) any {
			out := []any{}
			for _, x := range xs {
				out = append(out, x)
			}
			return out
		}},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			field := ""
			if tt.op != "count" {
				field = ", field: value.amount"
			}
			spec, err := Parse([]byte("input: in\nkey: value.k\naggregate: {op: " + tt.op + field + "}\noutput: out\n"))
			if err != nil {
				t.Fatal(err)
			}
			top, _, err := Build(spec)
			if err != nil {
				t.Fatal(err)
			}
			d := driver(t, top)
			in := streamstest.Input(d, "in", streams.String(), streams.String())
			for i := range 3 {
				for _, k := range []string{"a", "b", "c"} {
					if i < len(amounts[k]) {
						if err := in.Pipe("", fmt.Sprintf(`{"k":%q,"amount":%v}`, k, amounts[k][i]), int64(i)); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			got, err := streamstest.ReadTable(streamstest.Output(d, "out", streams.String(), streams.JSON[map[string]any]()))
			if err != nil {
				t.Fatal(err)
			}
			for k, xs := range amounts {
				if !reflect.DeepEqual(got[k]["value"], tt.want(xs)) {
					t.Fatalf("%s %s = %v, want %v", tt.op, k, got[k]["value"], tt.want(xs))
				}
			}
		})
	}
}

// TestJoinStep enriches records with a table row and keeps or drops the
// ones without a row.
func TestJoinStep(t *testing.T) {
	for _, inner := range []bool{false, true} {
		spec, err := Parse([]byte(fmt.Sprintf("input: orders\njoin: {table: users, as: user, inner: %v}\noutput: out\n", inner)))
		if err != nil {
			t.Fatal(err)
		}
		top, _, err := Build(spec)
		if err != nil {
			t.Fatal(err)
		}
		d := driver(t, top)
		users := streamstest.Input(d, "users", streams.String(), streams.String())
		orders := streamstest.Input(d, "orders", streams.String(), streams.String())
		for _, step := range []error{
			users.Pipe("u1", `{"name":"Ann"}`, 1),
			orders.Pipe("u1", `{"id":1}`, 2),
			orders.Pipe("u2", `{"id":2}`, 3),
		} {
			if step != nil {
				t.Fatal(step)
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
		want := []string{`u1={"id":1,"user":{"name":"Ann"}}`}
		if !inner {
			want = append(want, `u2={"id":2,"user":null}`)
		}
		if strings.Join(got, ";") != strings.Join(want, ";") {
			t.Fatalf("inner=%v: got %v, want %v", inner, got, want)
		}
	}
}

func TestParseProblems(t *testing.T) {
	tests := []struct {
		yaml string
		want []string
	}{
		{"output: o\n", []string{"input is required"}},
		{"input: i\noutput: o\nwindow: {type: tumbling, size: 1m}\n", []string{"a window needs an aggregate"}},
		{"input: i\noutput: o\naggregate: {op: sum}\n", []string{"aggregate needs a key", "aggregate sum needs a field"}},
		{"input: i\noutput: o\nkey: key\naggregate: {op: count}\nwindow: {type: weekly, emit: sometimes}\n", []string{"window.type", "window.emit"}},
		{"input: i\noutput: o\nbogus: 1\n", []string{"field bogus not found"}},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.yaml))
		if err == nil {
			t.Fatalf("%q: no error", tt.yaml)
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Fatalf("%q: error %q lacks %q", tt.yaml, err, w)
			}
		}
	}
}
