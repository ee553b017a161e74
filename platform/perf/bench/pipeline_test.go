package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/pipelines"
	"github.com/tributary-io/tributary/pipelines/runner"
)

func TestPipelineInput(t *testing.T) {
	for _, id := range []int{0, 1, 7, 123456, 999999} {
		v := pipelineInput(id, 100)
		if len(v) != 100 {
			t.Errorf("id %d: %d bytes, want 100: %s", id, len(v), v)
		}
		var doc struct {
			ID      int    `json:"id"`
			Level   string `json:"level"`
			Latency int    `json:"latency_ms"`
		}
		if err := json.Unmarshal(v, &doc); err != nil || doc.ID != id || doc.Level == "" {
			t.Errorf("id %d: %s does not decode to its id and level: %+v %v", id, v, doc, err)
		}
	}
}

func TestPipelineKept(t *testing.T) {
	for _, n := range []int{0, 1, 3, 4, 5, 8, 1001} {
		want := 0
		for id := range n {
			if id%4 != 0 {
				want++
			}
		}
		if got := pipelineKept(n); got != want {
			t.Errorf("pipelineKept(%d) = %d, want %d", n, got, want)
		}
	}
}

// TestPipelineManifest validates the measured manifest as `tributary
// pipeline run` does and runs its processors offline on generated input:
// the output must be the records the filter keeps, each as the harness's
// output check expects.
func TestPipelineManifest(t *testing.T) {
	b, probs := pipelines.LoadBytes(context.Background(), "pipeline.yaml",
		fmt.Appendf(nil, pipelineManifest, "pipeline-in", "pipeline-out"), pipelines.Options{})
	if len(probs) > 0 {
		t.Fatalf("manifest problems: %v", probs)
	}
	m, prog, err := b.Pipeline("")
	if err != nil {
		t.Fatal(err)
	}
	const n = 103
	in := make([]*kgo.Record, n)
	for id := range n {
		in[id] = &kgo.Record{Topic: "pipeline-in", Offset: int64(id), Value: pipelineInput(id, 100)}
	}
	out, _, err := runner.Offline(m.Name, m.Pipeline, prog, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != pipelineKept(n) {
		t.Fatalf("%d output records, want %d", len(out), pipelineKept(n))
	}
	for _, r := range out {
		if r.Topic != "pipeline-out" || !pipelineOutputOK(r) {
			t.Errorf("output %s %q=%s is not as mapped", r.Topic, r.Key, r.Value)
		}
	}
}

func TestPipelineOutputOK(t *testing.T) {
	tests := []struct {
		key, value string
		ok         bool
	}{
		{"5", `{"id":5,"level":"WARN","slow":false}`, true},
		{"4", `{"id":4,"level":"INFO","slow":false}`, false}, // the filter drops id%4 == 0
		{"5", `{"id":6,"level":"WARN","slow":false}`, false}, // key and value disagree
		{"5", `{"id":50,"level":"WARN","slow":false}`, false},
		{"5", `{"id":5,"level":"warn","latency_ms":35}`, false},
		{"x", `{"id":5,"slow":true}`, false},
	}
	for _, tt := range tests {
		if got := pipelineOutputOK(&kgo.Record{Key: []byte(tt.key), Value: []byte(tt.value)}); got != tt.ok {
			t.Errorf("%s=%s: ok %v, want %v", tt.key, tt.value, got, tt.ok)
		}
	}
}
