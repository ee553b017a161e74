package runner_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

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
	runUntilCleanup(t, newRunner(t, addr, manifest, "a", time.Second))

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
