package spec

import (
	"strings"
	"testing"
	"time"
)

// statefulDoc is a pipeline whose processors start at line 8, column 7
// (the processor's name), followed by more spec lines.
func statefulDoc(processors string, more ...string) string {
	return "apiVersion: tributary.io/v1\nkind: Pipeline\nmetadata: {name: p}\nspec:\n  input: {topics: [in]}\n  outputs: [{topic: out}]\n  processors:\n" +
		processors + strings.Join(more, "")
}

func TestStatefulDecoded(t *testing.T) {
	ms, probs := Parse("f.yaml", []byte(statefulDoc(`    - filter: value.ok
    - join: {table: customers.v1, key: value.customer}
    - window: {type: hopping, size: 10m, advance: 1m, grace: 0s, emit: final}
    - aggregate: {key: value.user, op: avg, field: value.amount}
    - map: {value: value}
`)))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	p := ms[0].Pipeline
	if !p.Stateful() || p.Delivery != ExactlyOnce {
		t.Fatalf("stateful %v, delivery %s", p.Stateful(), p.Delivery)
	}
	j, w, a := p.Processors[1].Join, p.Processors[2].Window, p.Processors[3].Aggregate
	if j.Table != "customers.v1" || j.As != "customers_v1" || j.Inner || j.Key.Src != "value.customer" || j.TablePos.Line != 9 {
		t.Errorf("join: %+v", j)
	}
	if w.Type != "hopping" || w.Size != 10*time.Minute || w.Advance != time.Minute || w.Grace != 0 || !w.Final {
		t.Errorf("window: %+v", w)
	}
	if a.Op != "avg" || a.Key.Src != "value.user" || a.Field.Src != "value.amount" || a.Key.Path != "spec.processors[3].aggregate.key" {
		t.Errorf("aggregate: %+v", a)
	}
	ms, probs = Parse("f.yaml", []byte(statefulDoc("    - filter: value.ok\n")))
	if len(probs) > 0 || ms[0].Pipeline.Stateful() {
		t.Fatalf("a stateless pipeline: stateful %v, %v", ms[0].Pipeline.Stateful(), probs)
	}
}

// TestStatefulProblems: each invalid stateful step is reported at its
// file:line:col with its field path, and every problem of a manifest at
// once.
func TestStatefulProblems(t *testing.T) {
	tests := []struct {
		name, processors string
		more             []string
		want             []string // "line:col: path: message fragment"
	}{
		{"unknown field", "    - aggregate: {key: value.u, op: count, by: x}\n", nil,
			[]string{`8:44: spec.processors[0].aggregate: unknown field "by"`}},
		{"missing key", "    - aggregate: {op: count}\n", nil,
			[]string{`8:18: spec.processors[0].aggregate: missing required field "key"`}},
		{"empty key", "    - aggregate: {key: '', op: count}\n", nil,
			[]string{`8:24: spec.processors[0].aggregate.key: the expression is empty`}},
		{"missing op", "    - aggregate: {key: value.u}\n", nil,
			[]string{`8:18: spec.processors[0].aggregate: missing required field "op"`}},
		{"unknown op", "    - aggregate: {key: value.u, op: median}\n", nil,
			[]string{`8:37: spec.processors[0].aggregate.op: unknown aggregate op "median"`}},
		{"op suggestion", "    - aggregate: {key: value.u, op: cout}\n", nil,
			[]string{`8:37: spec.processors[0].aggregate.op: unknown aggregate op "cout" (did you mean "count"?)`}},
		{"sum without field", "    - aggregate: {key: value.u, op: sum}\n", nil,
			[]string{`8:18: spec.processors[0].aggregate: missing required field "field"`}},
		{"count with field", "    - aggregate: {key: value.u, op: count, field: value.n}\n", nil,
			[]string{`8:44: spec.processors[0].aggregate.field: count counts records and reads no field`}},
		{"aggregate not a mapping", "    - aggregate: count\n", nil,
			[]string{`8:18: spec.processors[0].aggregate: want a mapping, got the string "count"`}},
		{"bad window type", "    - window: {type: weekly, size: 1m}\n    - aggregate: {key: value.u, op: count}\n", nil,
			[]string{`8:22: spec.processors[0].window.type: unknown window type "weekly"`}},
		{"bad duration", "    - window: {type: tumbling, size: 5 minutes}\n    - aggregate: {key: value.u, op: count}\n", nil,
			[]string{`8:38: spec.processors[0].window.size: want a duration such as 250ms, 10s or 1h, got the string "5 minutes"`}},
		{"zero size", "    - window: {type: tumbling, size: 0s}\n    - aggregate: {key: value.u, op: count}\n", nil,
			[]string{`8:38: spec.processors[0].window.size: must be positive, got 0s`}},
		{"negative grace", "    - window: {type: tumbling, size: 1m, grace: -1s}\n    - aggregate: {key: value.u, op: count}\n", nil,
			[]string{`8:49: spec.processors[0].window.grace: must not be negative, got -1s`}},
		{"missing size", "    - window: {type: tumbling}\n    - aggregate: {key: value.u, op: count}\n", nil,
			[]string{`8:15: spec.processors[0].window: missing required field "size"`}},
		{"gap on tumbling", "    - window: {type: tumbling, size: 1m, gap: 1m}\n    - aggregate: {key: value.u, op: count}\n", nil,
			[]string{`8:42: spec.processors[0].window.gap: tumbling windows have no gap (they take size)`}},
		{"session without gap", "    - window: {type: session, size: 1m}\n    - aggregate: {key: value.u, op: count}\n", nil,
			[]string{`8:15: spec.processors[0].window: missing required field "gap"`, `8:31: spec.processors[0].window.size: session windows have no size (they take gap)`}},
		{"advance past size", "    - window: {type: hopping, size: 1m, advance: 2m}\n    - aggregate: {key: value.u, op: count}\n", nil,
			[]string{`8:50: spec.processors[0].window.advance: advance 2m0s is longer than size 1m0s`}},
		{"bad emit", "    - window: {type: tumbling, size: 1m, emit: sometimes}\n    - aggregate: {key: value.u, op: count}\n", nil,
			[]string{`8:48: spec.processors[0].window.emit: want update (every change) or final`}},
		{"window without aggregate", "    - window: {type: tumbling, size: 1m}\n    - filter: 'true'\n", nil,
			[]string{`8:7: spec.processors[0].window: a window must be followed directly by the aggregate it windows`}},
		{"two aggregates", "    - aggregate: {key: value.u, op: count}\n    - aggregate: {key: value.v, op: count}\n", nil,
			[]string{`9:7: spec.processors[1].aggregate: a pipeline has at most one aggregate (the first is at 8:7)`}},
		{"join after aggregate", "    - aggregate: {key: value.u, op: count}\n    - join: {table: t}\n", nil,
			[]string{`9:7: spec.processors[1].join: join must come before the aggregate at 8:7`}},
		{"join missing table", "    - join: {as: user}\n", nil,
			[]string{`8:13: spec.processors[0].join: missing required field "table"`}},
		{"join bad table name", "    - join: {table: 'a b'}\n", nil,
			[]string{`8:21: spec.processors[0].join.table:`}},
		{"join bad as", "    - join: {table: t, as: value.user}\n", nil,
			[]string{`8:28: spec.processors[0].join.as: "value.user" is not a field name`}},
		{"join bad type", "    - join: {table: t, type: outer}\n", nil,
			[]string{`8:30: spec.processors[0].join.type: unknown join type "outer"`}},
		{"join reads its output", "    - join: {table: out}\n", nil,
			[]string{`8:21: spec.processors[0].join.table: topic "out" is also an output`}},
		{"route before the aggregate", "    - route: [{to: out}]\n    - aggregate: {key: value.u, op: count}\n", nil,
			[]string{`8:7: spec.processors[0].route: route must come after the last stateful step (aggregate at 9:7)`}},
		{"dead letter", "    - aggregate: {key: value.u, op: count}\n", []string{"  onError: {dead-letter: dlq}\n"},
			[]string{`9:26: spec.onError.dead-letter: a pipeline with aggregate cannot dead-letter yet`}},
		{"several at once", "    - window: {type: daily}\n    - aggregate: {op: sum}\n", nil,
			[]string{`8:22: spec.processors[0].window.type: unknown window type "daily"`, `9:18: spec.processors[1].aggregate: missing required field "key"`, `9:18: spec.processors[1].aggregate: missing required field "field"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, probs := Parse("f.yaml", []byte(statefulDoc(tt.processors, tt.more...)))
			probs.Sort()
			var got []string
			for _, p := range probs {
				got = append(got, p.String())
			}
			if len(probs) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(probs), len(tt.want), strings.Join(got, "\n"))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], "f.yaml:"+w) {
					t.Errorf("problem %d:\n got %s\nwant f.yaml:%s...", i, got[i], w)
				}
			}
		})
	}
}

// TestStatefulPipelineRules covers what concerns the whole pipeline:
// connectors, startFrom and the delivery guarantee.
func TestStatefulPipelineRules(t *testing.T) {
	head := "apiVersion: tributary.io/v1\nkind: Pipeline\nmetadata: {name: p}\nspec:\n"
	tests := []struct {
		name, spec, want string
	}{
		{"connector input", "  input: {connector: {plugin: file}}\n  outputs: [{topic: out}]\n  processors:\n    - aggregate: {key: value.u, op: count}\n  delivery: at-least-once\n",
			"f.yaml:8:7: spec.processors[0].aggregate: aggregate runs on the streams runtime, which reads and writes topics only"},
		{"start from latest", "  input: {topics: [in], startFrom: latest}\n  outputs: [{topic: out}]\n  processors:\n    - join: {table: t}\n",
			"f.yaml:5:10: spec.input.startFrom: a pipeline with join reads its input from the earliest offset"},
	}
	for _, tt := range tests {
		_, probs := Parse("f.yaml", []byte(head+tt.spec))
		if len(probs) != 1 || !strings.HasPrefix(probs[0].String(), tt.want) {
			t.Errorf("%s: got %v, want %s", tt.name, probs, tt.want)
		}
	}
	ms, probs := Parse("f.yaml", []byte(head+"  input: {topics: [in]}\n  outputs: [{topic: out}]\n  processors:\n    - aggregate: {key: value.u, op: count}\n  delivery: at-least-once\n  parallelism: 3\n"))
	if len(probs) > 0 || ms[0].Pipeline.Delivery != AtLeastOnce || ms[0].Pipeline.Parallelism != 3 {
		t.Fatalf("at-least-once: %v %+v", probs, ms[0].Pipeline)
	}
}
