package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// manifests is the issue #9 directory: topics, a file source connector
// tailing logDir, and a pipeline that parses JSON lines, keeps errors and
// requests slower than minLatency, maps them to a smaller record and
// routes errors to one topic and the rest to another.
func manifests(logDir string, minLatency int) map[string]string {
	topic := func(name string) string {
		return fmt.Sprintf("apiVersion: tributary.io/v1\nkind: Topic\nmetadata:\n  name: %s\nspec:\n  partitions: 1\n", name)
	}
	return map[string]string{
		"topics.yaml": strings.Join([]string{topic("raw-logs"), topic("log-errors"), topic("log-slow"), topic("logs-dlq")}, "---\n"),
		"connector.yaml": fmt.Sprintf(`apiVersion: tributary.io/v1
kind: Connector
metadata:
  name: app-logs
spec:
  plugin: file
  type: source
  topic: raw-logs
  config:
    paths: [%s/*.log]
    poll.interval: 50ms
`, logDir),
		"pipeline.yaml": fmt.Sprintf(`apiVersion: tributary.io/v1
kind: Pipeline
metadata:
  name: slow-and-failed
spec:
  input:
    topics: [raw-logs]
  processors:
    - parse: json
    - filter: value.level == "error" || value.latency_ms >= %d
    - map:
        key: value.service
        value: '{"msg": value.msg, "level": value.level}'
    - route:
        - when: value.level == "error"
          to: errors
        - to: slow
  outputs:
    - name: errors
      topic: log-errors
    - name: slow
      topic: log-slow
  onError:
    dead-letter: logs-dlq
`, minLatency),
	}
}

func writeDir(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func appendLines(t *testing.T, path string, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, l := range lines {
		if _, err := f.WriteString(l + "\n"); err != nil {
			t.Fatal(err)
		}
	}
}

func logLine(level, msg string, latency int) string {
	return fmt.Sprintf(`{"service":"api","level":%q,"msg":%q,"latency_ms":%d}`, level, msg, latency)
}

// waitValues waits until topic holds exactly want (in order).
func waitValues(t *testing.T, n *node, topic string, want []string) {
	t.Helper()
	var got []string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		got = strs(readAll(t, n.kafka, topic))
		if slices.Equal(got, want) {
			return
		}
		if len(got) > len(want) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("topic %s:\n got %q\nwant %q", topic, got, want)
}

func TestApplyConnectorAndPipeline(t *testing.T) {
	root := t.TempDir()
	logDir, manDir, dataDir := filepath.Join(root, "logs"), filepath.Join(root, "manifests"), filepath.Join(root, "data")
	for _, d := range []string{logDir, manDir, dataDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	n := startNode(t, dataDir, "", "", "")
	logFile := filepath.Join(logDir, "app.log")

	// Invalid manifests change nothing: a broken expression (found
	// offline) and a bad plugin config (found by the cluster's plugin).
	bad := manifests(logDir, 500)
	bad["pipeline.yaml"] = strings.Replace(bad["pipeline.yaml"], `value.latency_ms >= 500`, `value.latency_ms >=`, 1)
	writeDir(t, manDir, bad)
	out, code := n.cli(t, "apply", "-f", manDir)
	if code == 0 || !strings.Contains(out, "pipeline.yaml:") || !strings.Contains(out, "nothing was changed") {
		t.Fatalf("apply with a bad expression: exit %d, output:\n%s", code, out)
	}
	bad = manifests(logDir, 500)
	bad["connector.yaml"] = strings.Replace(bad["connector.yaml"], "poll.interval: 50ms", "poll.interval: soon\n    start: middle", 1)
	writeDir(t, manDir, bad)
	out, code = n.cli(t, "apply", "-f", manDir)
	if code == 0 || !strings.Contains(out, "connector.yaml:11:") || !strings.Contains(out, "connector.yaml:12:") {
		t.Fatalf("apply with a bad connector config: exit %d, want both problems with positions, output:\n%s", code, out)
	}
	var names []string
	if n.call(t, "GET", "/connectors", nil, &names); len(names) != 0 {
		t.Fatalf("connectors after rejected applies: %v", names)
	}
	if got := readAll(t, n.kafka, "raw-logs"); got != nil {
		t.Fatalf("raw-logs exists or has records after rejected applies")
	}

	// Apply the valid directory; lines written before and after are read.
	appendLines(t, logFile, logLine("error", "e1", 5), logLine("info", "slow1", 900), logLine("info", "fast1", 9))
	writeDir(t, manDir, manifests(logDir, 500))
	out, code = n.cli(t, "apply", "-f", manDir)
	if code != 0 || !strings.Contains(out, "+ connector/app-logs created") || !strings.Contains(out, "+ pipeline/slow-and-failed created") {
		t.Fatalf("apply: exit %d, output:\n%s", code, out)
	}
	appendLines(t, logFile, logLine("info", "mid600", 600), logLine("error", "e2", 1))
	waitValues(t, n, "log-errors", []string{`{"level":"error","msg":"e1"}`, `{"level":"error","msg":"e2"}`})
	waitValues(t, n, "log-slow", []string{`{"level":"info","msg":"slow1"}`, `{"level":"info","msg":"mid600"}`})

	// The spec is a record of __tributary_configs keyed by kind and name,
	// holding the manifest; the pipeline runs as its own consumer group.
	var spec struct {
		Manifest string `json:"manifest"`
	}
	for _, r := range readAllRecords(t, n.kafka, "__tributary_configs") {
		if string(r.Key) == "pipeline/slow-and-failed" {
			if err := json.Unmarshal(r.Value, &spec); err != nil {
				t.Fatalf("spec record %s: %v", r.Value, err)
			}
		}
	}
	if !strings.Contains(spec.Manifest, `value.latency_ms >= 500`) {
		t.Fatalf("__tributary_configs has no record pipeline/slow-and-failed with the manifest (%q)", spec.Manifest)
	}
	func() {
		cl, err := kgo.NewClient(kgo.SeedBrokers(n.kafka))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		groups, err := kadm.NewClient(cl).DescribeGroups(ctx, "tributary-pipeline-slow-and-failed")
		if err != nil {
			t.Fatal(err)
		}
		if g := groups["tributary-pipeline-slow-and-failed"]; g.State != "Stable" || len(g.Members) != 1 {
			t.Fatalf("the pipeline's consumer group: state %q, %d members, want Stable with one", g.State, len(g.Members))
		}
	}()

	// The node's /metrics counts the pipeline's records by outcome (five
	// lines read, four written, fast1 filtered) and shows the connector
	// running.
	var recs map[string]float64
	waitFor(t, 10*time.Second, "pipeline records in /metrics", func() bool {
		recs = pipelineRecords(t, n, "slow-and-failed")
		return recs["in"] == 5 && recs["out"] == 4 && recs["filtered"] == 1
	})
	if recs["dead_lettered"] != 0 {
		t.Fatalf("pipeline records %v: want none dead-lettered", recs)
	}
	// Errors, batch latency and consumer lag: a line that is not JSON fails
	// to parse, counts as an error and is dead-lettered with the error in
	// its headers; the pipeline goes on.
	const series = `{pipeline="slow-and-failed"}`
	m := scrape(t, n, "tributary_pipeline_")
	// raw-logs is written in transactions by the source connector: the
	// commit marker after the last line is the one record of lag left.
	if lag, ok := m["tributary_pipeline_consumer_lag"+series]; !ok || lag > 1 {
		t.Errorf("consumer lag %v (exposed %v), want at most the commit marker once every line is read", lag, ok)
	}
	if m["tributary_pipeline_batch_latency_seconds_count"+series] < 1 || m["tributary_pipeline_batch_latency_seconds_sum"+series] <= 0 {
		t.Errorf("batch latency series: %v", m)
	}
	if v, ok := m["tributary_pipeline_errors_total"+series]; !ok || v != 0 {
		t.Errorf("errors %v (exposed %v), want 0", v, ok)
	}
	appendLines(t, logFile, "panic: not json")
	waitFor(t, 30*time.Second, "the bad line counted as an error and dead-lettered", func() bool {
		m := scrape(t, n, "tributary_pipeline_")
		return m["tributary_pipeline_errors_total"+series] == 1 && m[`tributary_pipeline_records_total{outcome="dead_lettered",pipeline="slow-and-failed"}`] == 1
	})
	if dlq := strs(readAll(t, n.kafka, "logs-dlq")); !slices.Equal(dlq, []string{"panic: not json"}) {
		t.Fatalf("dead letters: %q, want the line that is not JSON", dlq)
	}
	// pipeline logs shows the state and what the pipeline logged on its
	// worker: its start and the failed record.
	out, code = n.cli(t, "pipeline", "logs", "slow-and-failed")
	if code != 0 || !strings.Contains(out, "slow-and-failed state=running worker=node-1") || !strings.Contains(out, `msg="pipeline starting"`) ||
		!strings.Contains(out, `level=WARN msg="record failed" pipeline=slow-and-failed consumer=0 action=dead-letter topic=raw-logs partition=0 offset=`) || !strings.Contains(out, "parse json: invalid character") {
		t.Errorf("pipeline logs: exit %d, output:\n%s", code, out)
	}
	waitFor(t, 10*time.Second, "connector app-logs running in /metrics", func() bool {
		return connectorState(t, n, "app-logs") == "running"
	})

	// Applying the same directory again changes nothing.
	out, code = n.cli(t, "apply", "-f", manDir)
	if code != 0 || !strings.Contains(out, "= pipeline/slow-and-failed unchanged") || !strings.Contains(out, "= connector/app-logs unchanged") {
		t.Fatalf("re-apply: exit %d, output:\n%s", code, out)
	}

	// Raise the latency bar: from now on 600 ms is not slow any more; the
	// pipeline restarts from its committed offsets, so nothing repeats.
	writeDir(t, manDir, manifests(logDir, 800))
	out, code = n.cli(t, "apply", "-f", manDir)
	if code != 0 || !strings.Contains(out, "~ pipeline/slow-and-failed configured") || !strings.Contains(out, ">= 800") {
		t.Fatalf("apply update: exit %d, output:\n%s", code, out)
	}
	appendLines(t, logFile, logLine("info", "mid600b", 600), logLine("info", "slow2", 850))
	waitValues(t, n, "log-slow", []string{`{"level":"info","msg":"slow1"}`, `{"level":"info","msg":"mid600"}`, `{"level":"info","msg":"slow2"}`})

	// Delete stops the pipeline: new lines reach raw-logs, not the outputs.
	out, code = n.cli(t, "delete", "-f", filepath.Join(manDir, "pipeline.yaml"))
	if code != 0 || !strings.Contains(out, "- pipeline/slow-and-failed deleted") {
		t.Fatalf("delete: exit %d, output:\n%s", code, out)
	}
	appendLines(t, logFile, logLine("error", "after-delete", 1))
	waitFor(t, 30*time.Second, "the line written after the delete in raw-logs", func() bool {
		return len(readAll(t, n.kafka, "raw-logs")) == 9
	})
	time.Sleep(time.Second) // give a wrongly running pipeline the time to show itself
	waitValues(t, n, "log-errors", []string{`{"level":"error","msg":"e1"}`, `{"level":"error","msg":"e2"}`})
	if code := n.call(t, "GET", "/pipelines/slow-and-failed", nil, nil); code != 404 {
		t.Fatalf("GET deleted pipeline: %d, want 404", code)
	}
	waitFor(t, 10*time.Second, "the deleted pipeline's series to leave /metrics", func() bool {
		return len(pipelineRecords(t, n, "slow-and-failed")) == 0
	})
}
