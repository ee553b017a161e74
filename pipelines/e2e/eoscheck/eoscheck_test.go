package eoscheck

import (
	"context"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/pipelines"
	"github.com/tributary-io/tributary/pipelines/runner"
)

// TestCheck runs the manifest offline over the scenario's input and checks
// that Check accepts its output and refuses a lost, a repeated, an extra
// and a wrong record.
func TestCheck(t *testing.T) {
	const total = 1000
	b, probs := pipelines.LoadBytes(context.Background(), "eos.yaml", []byte(Manifest("eos", "in", "out", "  parallelism: 2\n")), pipelines.Options{})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	m, prog, err := b.Pipeline("eos")
	if err != nil || m.Pipeline.Parallelism != 2 {
		t.Fatalf("pipeline %v, %v", m, err)
	}
	in := make([]*kgo.Record, total)
	for i := range in {
		in[i] = Input("in", i)
	}
	out, _, err := runner.Offline("eos", m.Pipeline, prog, in)
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(out, total); err != nil {
		t.Fatalf("the pipeline's own output: %v", err)
	}
	for _, tc := range []struct {
		name string
		out  []*kgo.Record
		want string
	}{
		{"lost", out[1:], "1 missing"},
		{"repeated", append(out[:len(out):len(out)], out[5]), "1 duplicated"},
		{"filtered one kept", append(out[:len(out):len(out)], &kgo.Record{Key: []byte("3"), Value: []byte(`{"double":6,"id":3}`)}), "record 3 should have been filtered"},
		{"wrong value", append(out[:len(out):len(out)], &kgo.Record{Key: []byte("4"), Value: []byte(`{"id":4}`)}), "not an expected record"},
	} {
		if err := Check(tc.out, total); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Check = %v, want ...%s...", tc.name, err, tc.want)
		}
	}
}
