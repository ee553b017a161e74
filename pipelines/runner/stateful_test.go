package runner

import (
	"strings"
	"testing"

	"github.com/tributary-io/tributary/pipelines/spec"
	"github.com/tributary-io/tributary/pipelines/stateful"
)

// TestJoinPartitions: repartition topics take the join table's partition
// count, and a join without a repartition needs the input to have it.
func TestJoinPartitions(t *testing.T) {
	const head = "apiVersion: tributary.io/v1\nkind: Pipeline\nmetadata: {name: p}\nspec:\n  input: {topics: [in]}\n  outputs: [{topic: out}]\n  processors:\n"
	parts := map[string]int32{"in": 3, "out": 4, "t": 2}
	tests := []struct {
		name, processors string
		want             int32
		err              string
	}{
		{"no join", "    - aggregate: {key: value.k, op: count}\n", 0, ""},
		{"join by a key expression", "    - join: {table: t, key: value.c}\n", 2, ""},
		{"join after a processor", "    - filter: 'true'\n    - join: {table: t}\n", 2, ""},
		{"join of the input as read", "    - join: {table: t}\n", 0,
			"records of in (3 partitions) by their key in table t (2 partitions): give both topics the same partition count, or give the join a key expression"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, probs := spec.Parse("p.yaml", []byte(head+tt.processors))
			if len(probs) > 0 {
				t.Fatal(probs)
			}
			p := ms[0].Pipeline
			plan, probs := stateful.Compile("p", p)
			if len(probs) > 0 {
				t.Fatal(probs)
			}
			got, err := joinPartitions(&Config{Name: "p", Spec: p}, plan, parts)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want it to say %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("joinPartitions = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}
