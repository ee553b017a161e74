package pipelines_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/pipelines"
	"github.com/tributary-io/tributary/pipelines/pipetest"
)

// TestStatefulExample lints the stateful example and runs its test cases
// (`tributary pipeline test`), which run it on the streams test driver.
func TestStatefulExample(t *testing.T) {
	b, probs := pipelines.Load(context.Background(), []string{"examples/revenue.yaml"}, pipelines.Options{})
	if len(probs) > 0 {
		t.Fatalf("examples/revenue.yaml: %v", probs)
	}
	m, prog, err := b.Pipeline("revenue-by-country")
	if err != nil || prog == nil || !m.Pipeline.Stateful() {
		t.Fatalf("Pipeline: %v, program %v, stateful %v", err, prog != nil, m != nil && m.Pipeline.Stateful())
	}
	var out bytes.Buffer
	res, err := pipetest.Run(context.Background(), "examples/revenue_test.yaml", &out)
	if err != nil || res.Failed != 0 || res.Passed != 1 {
		t.Fatalf("%+v, %v\n%s", res, err, out.String())
	}
}

// TestStatefulExpressionProblems: expressions of stateful steps are
// compiled when manifests load, and their errors point into the file.
func TestStatefulExpressionProblems(t *testing.T) {
	head := "apiVersion: tributary.io/v1\nkind: Pipeline\nmetadata: {name: p}\nspec:\n  input: {topics: [in]}\n  outputs: [{topic: out}]\n  processors:\n"
	tests := []struct {
		name, processors string
		want             []string
	}{
		{"syntax error in a group key", "    - aggregate: {key: 'value.user +', op: count}\n",
			[]string{"f.yaml:8:36: spec.processors[0].aggregate.key: unexpected token EOF"}},
		{"unknown name in a field", "    - aggregate: {key: value.user, op: sum, field: amount}\n",
			[]string{"f.yaml:8:52: spec.processors[0].aggregate.field: unknown name amount"}},
		{"type error in a join key", "    - join: {table: t, key: 'key * 2'}\n",
			[]string{"f.yaml:8:34: spec.processors[0].join.key: invalid operation: * (mismatched types string and int)"}},
		{"stateless steps around are compiled too", "    - filter: value.x +\n    - aggregate: {key: value.u, op: count}\n    - map: {value: nope}\n",
			[]string{"f.yaml:8:23: spec.processors[0].filter: unexpected token EOF", "f.yaml:10:20: spec.processors[2].map.value: unknown name nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, probs := pipelines.LoadBytes(context.Background(), "f.yaml", []byte(head+tt.processors), pipelines.Options{})
			if b != nil || len(probs) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(probs), len(tt.want), probs)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(probs[i].String(), w) {
					t.Errorf("problem %d:\n got %s\nwant %s...", i, probs[i], w)
				}
			}
		})
	}
}
