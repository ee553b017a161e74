package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/platform/nodetest"
)

// TestPipelineLogsThroughAnotherNode: on a two-node cluster, the node whose
// worker does not run a pipeline answers GET /pipelines/{name}/logs (and
// `tributary pipeline logs`) with the lines the pipeline logged on the
// other node's worker, which it asks.
func TestPipelineLogsThroughAnotherNode(t *testing.T) {
	addrs := nodetest.FreeAddrs(t, 6)
	peers := fmt.Sprintf("1@%s,2@%s", addrs[2], addrs[5])
	var nodes []*node
	var procs []*nodetest.Node
	for i := range 2 {
		kafka, api, raft := addrs[3*i], addrs[3*i+1], addrs[3*i+2]
		p := bin.NewNode(t, nodetest.Name(fmt.Sprintf("node %d", i+1)), nodetest.Ports(kafka, api),
			nodetest.Config("worker:\n  session_timeout: 3s\n"),
			nodetest.Flags("--node-id", fmt.Sprint(i+1), "--cluster-raft-addr", raft, "--cluster-peers", peers,
				"--plugin-dir", plugins, "--groups-min-session-timeout", "1s", "--shutdown-timeout", "5s"))
		p.Launch()
		procs = append(procs, p)
		nodes = append(nodes, &node{kafka: kafka, api: api})
	}
	for _, p := range procs {
		p.WaitReady()
	}
	n1 := nodes[0]
	manifest := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(manifest, []byte(`apiVersion: tributary.io/v1
kind: Topic
metadata: {name: logs-in}
spec: {partitions: 1}
---
apiVersion: tributary.io/v1
kind: Topic
metadata: {name: logs-out}
spec: {partitions: 1}
---
apiVersion: tributary.io/v1
kind: Pipeline
metadata: {name: shout}
spec:
  input: {topics: [logs-in]}
  processors:
    - map: {value: upper(string(value))}
  outputs: [{topic: logs-out}]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "apply to succeed once both workers are in the group", func() bool {
		out, code := n1.cli(t, "apply", "-f", manifest)
		return code == 0 && strings.Contains(out, "pipeline/shout")
	})
	var st struct {
		State  string `json:"state"`
		Worker string `json:"worker_id"`
	}
	waitFor(t, time.Minute, "the pipeline running", func() bool {
		n1.call(t, "GET", "/pipelines/shout/status", nil, &st)
		return st.State == "running"
	})
	other := nodes[0]
	if st.Worker == "node-1" {
		other = nodes[1]
	} else if st.Worker != "node-2" {
		t.Fatalf("the pipeline runs on worker %q, want node-1 or node-2", st.Worker)
	}
	var logs struct {
		Worker  string   `json:"worker_id"`
		Lines   []string `json:"lines"`
		Message string   `json:"message"`
	}
	code := 0
	waitFor(t, 30*time.Second, "the other node to know the pipeline", func() bool {
		code = other.call(t, "GET", "/pipelines/shout/logs", nil, &logs)
		return code != 404 || !strings.Contains(logs.Message, "not found")
	})
	if code != 200 || logs.Worker != st.Worker ||
		!slices.ContainsFunc(logs.Lines, func(l string) bool { return strings.Contains(l, `msg="pipeline starting" pipeline=shout`) }) {
		t.Fatalf("GET logs from the other node: %d %q, worker %q, lines %q", code, logs.Message, logs.Worker, logs.Lines)
	}
	out, code := other.cli(t, "pipeline", "logs", "shout")
	if code != 0 || !strings.Contains(out, "shout state=running worker="+st.Worker) || !strings.Contains(out, `msg="pipeline starting" pipeline=shout`) {
		t.Fatalf("pipeline logs through the other node: exit %d, output:\n%s", code, out)
	}
}
