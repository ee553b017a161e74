package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// connectorPipeline is a pipeline whose input is the file source and whose
// outputs are a topic and the file sink: error lines, trimmed, to both.
func connectorPipeline(logDir, outDir, format string) map[string]string {
	return map[string]string{
		"topic.yaml": "apiVersion: tributary.io/v1\nkind: Topic\nmetadata: {name: feed-errors}\nspec: {partitions: 1}\n",
		"pipeline.yaml": fmt.Sprintf(`apiVersion: tributary.io/v1
kind: Pipeline
metadata:
  name: errors-feed
spec:
  input:
    connector:
      plugin: file
      config:
        paths: [%s/*.log]
        poll.interval: 50ms
  processors:
    - parse: json
    - filter: value.level == "error"
    - map:
        key: value.service
        value: '{"msg": value.msg}'
  outputs:
    - topic: feed-errors
    - name: archive
      connector:
        plugin: file
        config:
          dir: %s
          format: %s
`, logDir, outDir, format),
	}
}

// sinkLines returns the lines the file sink wrote to dir, file by file.
func sinkLines(dir string) []string {
	var out []string
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	slices.Sort(files)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(data), "\n") {
			if l != "" {
				out = append(out, l)
			}
		}
	}
	return out
}

// TestPipelineWithConnectors: a pipeline whose input is a source connector
// and whose outputs are a topic and a sink connector, applied with
// `tributary apply`. A bad sink config is found by the plugin, at its line,
// before anything changes. Running, the matching lines of the log files
// reach the topic and the sink's files; `pipeline list|describe|logs` show
// it; `pipeline pause` stops it, connectors included, and `resume` goes on
// from where it was; `delete -f` stops every part.
func TestPipelineWithConnectors(t *testing.T) {
	root := t.TempDir()
	logDir, outDir, manDir := filepath.Join(root, "logs"), filepath.Join(root, "out"), filepath.Join(root, "manifests")
	for _, d := range []string{logDir, manDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	n := startNode(t, filepath.Join(root, "data"), "", "", "")
	logFile := filepath.Join(logDir, "app.log")

	writeDir(t, manDir, connectorPipeline(logDir, outDir, "xml"))
	out, code := n.cli(t, "apply", "-f", manDir)
	if code == 0 || !strings.Contains(out, "pipeline.yaml:25:11: spec.outputs[1].connector.config.format: must be one of value, json") ||
		!strings.Contains(out, "nothing was changed") {
		t.Fatalf("apply with a bad sink config: exit %d, output:\n%s", code, out)
	}
	// Connector names of the pipeline.* family belong to pipelines.
	reserved := filepath.Join(root, "reserved.yaml")
	if err := os.WriteFile(reserved, []byte("apiVersion: tributary.io/v1\nkind: Connector\nmetadata: {name: pipeline.errors-feed.source}\n"+
		"spec:\n  plugin: file\n  type: source\n  topic: feed-errors\n  config: {paths: [/nonexistent/*.log]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code = n.cli(t, "apply", "-f", reserved)
	if code == 0 || !strings.Contains(out, `reserved.yaml:3:18: metadata.name: connector names starting with "pipeline." are reserved`) {
		t.Fatalf("apply of a connector with a reserved name: exit %d, output:\n%s", code, out)
	}
	if code := n.call(t, "POST", "/connectors", map[string]any{"name": "pipeline.x.source", "config": map[string]string{
		"plugin": "file", "type": "source", "topic": "t", "paths": "/nonexistent/*.log"}}, nil); code != 400 {
		t.Fatalf("POST a connector with a reserved name: %d, want 400", code)
	}
	if topics := userTopics(t, n.kafka); len(topics) != 0 {
		t.Fatalf("topics after rejected applies: %v", topics)
	}

	appendLines(t, logFile, logLine("error", "e1", 5), logLine("info", "i1", 900))
	writeDir(t, manDir, connectorPipeline(logDir, outDir, "value"))
	out, code = n.cli(t, "apply", "-f", manDir)
	if code != 0 || !strings.Contains(out, "+ pipeline/errors-feed created") {
		t.Fatalf("apply: exit %d, output:\n%s", code, out)
	}
	appendLines(t, logFile, logLine("error", "e2", 1))
	want := []string{`{"msg":"e1"}`, `{"msg":"e2"}`}
	waitValues(t, n, "feed-errors", want)
	waitFor(t, 30*time.Second, "the sink's files to hold e1 and e2", func() bool { return slices.Equal(sinkLines(outDir), want) })
	if topics := userTopics(t, n.kafka); !slices.Equal(topics, []string{"feed-errors", "pipeline.errors-feed.sink.archive", "pipeline.errors-feed.source"}) {
		t.Errorf("topics: %v, want feed-errors and the two bridge topics", topics)
	}
	var names []string
	if n.call(t, "GET", "/connectors", nil, &names); len(names) != 0 {
		t.Errorf("GET /connectors lists the pipeline's own connectors: %v", names)
	}

	waitFor(t, 10*time.Second, "pipeline list to show errors-feed running", func() bool {
		out, code := n.cli(t, "pipeline", "list")
		return code == 0 && strings.Contains(out, "errors-feed") && strings.Contains(out, "running")
	})
	out, code = n.cli(t, "pipeline", "describe", "errors-feed")
	if code != 0 || !strings.Contains(out, "State:   running") || !strings.Contains(out, "plugin: file") || !strings.Contains(out, `filter: value.level == "error"`) ||
		!regexp.MustCompile(`(?m)^  pipeline/errors-feed +running +node-1$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^  connector/pipeline\.errors-feed\.source/0 +running +node-1$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^  connector/pipeline\.errors-feed\.sink\.archive/0 +running +node-1$`).MatchString(out) {
		t.Errorf("pipeline describe: exit %d, output:\n%s", code, out)
	}
	out, code = n.cli(t, "pipeline", "logs", "errors-feed")
	if code != 0 || !strings.Contains(out, "errors-feed state=running worker=node-1") ||
		!strings.Contains(out, `msg="pipeline starting" pipeline=errors-feed group=tributary-pipeline-errors-feed plan="pipeline.errors-feed.source -> 3 processors -> feed-errors,archive`) {
		t.Errorf("pipeline logs: exit %d, output:\n%s", code, out)
	}

	// Paused, the source stops reading too: a line written meanwhile goes
	// nowhere until resume, then once to both outputs.
	if out, code := n.cli(t, "pipeline", "pause", "errors-feed"); code != 0 {
		t.Fatalf("pipeline pause: exit %d, output:\n%s", code, out)
	}
	waitFor(t, 10*time.Second, "every part of the pipeline paused", func() bool {
		var st struct {
			State string `json:"state"`
		}
		n.call(t, "GET", "/pipelines/errors-feed/status", nil, &st)
		return st.State == "paused" && len(pluginPIDs()) == 0
	})
	appendLines(t, logFile, logLine("error", "e3", 1))
	time.Sleep(time.Second) // what a wrongly running part would need to move the line
	if got := readAll(t, n.kafka, "pipeline.errors-feed.source"); len(got) != 3 {
		t.Fatalf("the paused source read the line written after the pause: bridge topic holds %d records, want 3", len(got))
	}
	if out, code := n.cli(t, "pipeline", "resume", "errors-feed"); code != 0 {
		t.Fatalf("pipeline resume: exit %d, output:\n%s", code, out)
	}
	want = append(want, `{"msg":"e3"}`)
	waitValues(t, n, "feed-errors", want)
	waitFor(t, 30*time.Second, "the sink's files to hold e1 to e3", func() bool { return slices.Equal(sinkLines(outDir), want) })

	// Delete stops the pipeline and its connectors.
	out, code = n.cli(t, "delete", "-f", manDir)
	if code != 0 || !strings.Contains(out, "- pipeline/errors-feed deleted") {
		t.Fatalf("delete: exit %d, output:\n%s", code, out)
	}
	waitFor(t, 30*time.Second, "the pipeline's plugin processes to stop", func() bool { return len(pluginPIDs()) == 0 })
	if code := n.call(t, "GET", "/pipelines/errors-feed/status", nil, nil); code != 404 {
		t.Errorf("status of the deleted pipeline: %d, want 404", code)
	}
	appendLines(t, logFile, logLine("error", "after-delete", 1))
	time.Sleep(time.Second)
	if got := readAll(t, n.kafka, "pipeline.errors-feed.source"); len(got) != 4 {
		t.Fatalf("after delete the bridge topic holds %d records, want the 4 read before", len(got))
	}

	// A sink that cannot write (its dir is below a regular file): the
	// pipeline's status is its sink's, with the sink's error and name.
	broken := strings.ReplaceAll(connectorPipeline(logDir, logFile+"/out", "value")["pipeline.yaml"], "errors-feed", "broken-feed")
	writeDir(t, manDir, map[string]string{"pipeline.yaml": broken})
	if out, code := n.cli(t, "apply", "-f", manDir); code != 0 {
		t.Fatalf("apply broken-feed: exit %d, output:\n%s", code, out)
	}
	var st struct {
		State string `json:"state"`
		Trace string `json:"trace"`
		Parts []struct {
			Unit  string `json:"unit"`
			State string `json:"state"`
		} `json:"parts"`
	}
	waitFor(t, 30*time.Second, "the broken sink to show in the pipeline's status", func() bool {
		n.call(t, "GET", "/pipelines/broken-feed/status", nil, &st)
		return (st.State == "restarting" || st.State == "failed") &&
			strings.HasPrefix(st.Trace, "connector/pipeline.broken-feed.sink.archive/0: ") && strings.Contains(st.Trace, "not a directory")
	})
	if len(st.Parts) != 3 || st.Parts[0].Unit != "pipeline/broken-feed" || st.Parts[0].State != "running" {
		t.Errorf("parts of broken-feed: %+v", st.Parts)
	}
}
