package runner_test

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/pipelines"
	"github.com/tributary-io/tributary/pipelines/runner"
	"github.com/tributary-io/tributary/platform/nodetest"
)

// TestShortSessionTimeout: a stateless pipeline whose group session is
// shorter than kgo's default heartbeat interval (3s) still joins its group
// and moves records. Workers allow sessions down to 1s; with the default
// heartbeat the broker refuses every join and nothing ever flows.
func TestShortSessionTimeout(t *testing.T) {
	addr := bin.StartNode(t, nodetest.Name("broker"),
		nodetest.Flags("--worker-disabled", "--groups-min-session-timeout", "1s")).Kafka()
	topics(t, addr, 2, "short-in", "short-out")
	const manifest = `apiVersion: tributary.io/v1
kind: Pipeline
metadata: {name: short-session}
spec:
  input: {topics: [short-in]}
  processors:
    - filter: value.n % 2 == 0
  outputs: [{topic: short-out}]
  delivery: at-least-once
`
	b, probs := pipelines.LoadBytes(context.Background(), "p.yaml", []byte(manifest), pipelines.Options{})
	if len(probs) > 0 {
		t.Fatalf("manifest: %v", probs)
	}
	m, prog, err := b.Pipeline("")
	if err != nil {
		t.Fatal(err)
	}
	r, err := runner.New(runner.Config{
		Name: m.Name, Spec: m.Pipeline, Program: prog, Seeds: []string{addr}, InstanceID: "a",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SessionTimeout: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("pipeline run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("the pipeline did not stop within 30s")
		}
	}()

	var recs []*kgo.Record
	for i := range 100 {
		recs = append(recs, &kgo.Record{Topic: "short-in", Value: []byte(`{"n":` + strconv.Itoa(i) + `}`)})
	}
	produceAll(t, addr, recs...)
	var out []*kgo.Record
	waitFor(t, 45*time.Second, "50 filtered records in short-out", func() bool {
		out = readAll(t, addr, "short-out")
		return len(out) >= 50
	})
	if len(out) != 50 {
		t.Fatalf("short-out holds %d records, want 50", len(out))
	}
}
