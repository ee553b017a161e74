package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

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
	// The pipeline may move once while the second worker joins the group,
	// so the whole check runs again until it holds with the pipeline on the
	// same worker before and after: the node not running it answers, over
	// REST and through the CLI, with the lines logged on the one running it.
	var last string
	check := func() bool {
		var st struct {
			State  string `json:"state"`
			Worker string `json:"worker_id"`
		}
		n1.call(t, "GET", "/pipelines/shout/status", nil, &st)
		if st.State != "running" {
			last = fmt.Sprintf("pipeline state %q", st.State)
			return false
		}
		var other *node
		switch st.Worker {
		case "node-1":
			other = nodes[1]
		case "node-2":
			other = nodes[0]
		default:
			t.Fatalf("the pipeline runs on worker %q, want node-1 or node-2", st.Worker)
		}
		var logs struct {
			Worker  string   `json:"worker_id"`
			Lines   []string `json:"lines"`
			Message string   `json:"message"`
		}
		code := other.call(t, "GET", "/pipelines/shout/logs", nil, &logs)
		if code != 200 || logs.Worker != st.Worker ||
			!slices.ContainsFunc(logs.Lines, func(l string) bool { return strings.Contains(l, `msg="pipeline starting" pipeline=shout`) }) {
			last = fmt.Sprintf("GET logs from the other node: %d %q, worker %q (status says %q), lines %q", code, logs.Message, logs.Worker, st.Worker, logs.Lines)
			return false
		}
		out, code := other.cli(t, "pipeline", "logs", "shout")
		if code != 0 || !strings.Contains(out, "shout state=running worker="+st.Worker) || !strings.Contains(out, `msg="pipeline starting" pipeline=shout`) {
			last = fmt.Sprintf("pipeline logs through the other node: exit %d, output:\n%s", code, out)
			return false
		}
		owner := st.Worker
		n1.call(t, "GET", "/pipelines/shout/status", nil, &st)
		last = "the pipeline moved during the check"
		return st.Worker == owner
	}
	deadline := time.Now().Add(time.Minute)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("after a minute: %s", last)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The workers' internal topics are replicated on both nodes (the two
	// started together), so neither node's death loses the specs.
	cl, err := kgo.NewClient(kgo.SeedBrokers(n1.kafka))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	internal := []string{"__tributary_configs", "__tributary_status", "__tributary_offsets"}
	details, err := kadm.NewClient(cl).ListTopics(ctx, internal...)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range internal {
		d, ok := details[name]
		if !ok || d.Err != nil || len(d.Partitions) == 0 {
			t.Fatalf("%s: not found (%v)", name, d.Err)
		}
		for _, p := range d.Partitions {
			if len(p.Replicas) != 2 {
				t.Errorf("%s partition %d has replicas %v, want one on each of the 2 nodes", name, p.Partition, p.Replicas)
			}
		}
	}
}
