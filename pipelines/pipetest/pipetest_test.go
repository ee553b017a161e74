package pipetest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExamplesPass(t *testing.T) {
	files, err := filepath.Glob("../examples/*_test.yaml")
	if err != nil || len(files) != 3 {
		t.Fatalf("example tests %v (%v): want logs, cdc and revenue", files, err)
	}
	for _, f := range files {
		var out bytes.Buffer
		res, err := Run(context.Background(), f, &out)
		if err != nil || res.Failed != 0 || res.Passed == 0 {
			t.Errorf("%s: %+v, %v\n%s", f, res, err, out.String())
		}
	}
}

// write creates files in a temporary directory next to a copy of the
// example pipeline, and returns the directory.
func write(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	logs, err := os.ReadFile("../examples/logs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files["logs.yaml"] = string(logs)
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestWrongExpectationShowsDiff(t *testing.T) {
	dir := write(t, map[string]string{"wrong_test.yaml": `pipeline: logs.yaml
cases:
  - name: a typo in the expected message
    input:
      - value: '{"service":"api","level":"error","msg":"db down","latency_ms":3}'
      - value: '{"service":"web","level":"warn","msg":"slow page","latency_ms":900}'
      - value: '{"service":"web","level":"warn","msg":"slower","latency_ms":901}'
    expect:
      log-errors:
        - key: api
          value: {service: api, level: error, msg: db is down, latency_ms: 3}
      log-slow:
        - value: {service: web, level: warn, msg: slow page, latency_ms: 900}
  - name: passes
    input: []
    expect: {}
`})
	var out bytes.Buffer
	res, err := Run(context.Background(), filepath.Join(dir, "wrong_test.yaml"), &out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 1 || res.Passed != 1 {
		t.Fatalf("result %+v, want 1 failed and 1 passed\n%s", res, out.String())
	}
	want := []string{
		"FAIL  slow-and-failed / a typo in the expected message (",
		"    topic log-errors:\n",
		`      + key="api" value={"latency_ms":3,"level":"error","msg":"db down","service":"api"}` + "\n",
		`      - key="api" value={"latency_ms":3,"level":"error","msg":"db is down","service":"api"}` + "\n",
		"    topic log-slow:\n",
		`        value={"latency_ms":900,"level":"warn","msg":"slow page","service":"web"}` + "\n",
		`      + value={"latency_ms":901,"level":"warn","msg":"slower","service":"web"}` + "\n",
		"PASS  slow-and-failed / passes\n",
	}
	for _, w := range want {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
}

func TestUnlistedTopicAndFiles(t *testing.T) {
	dir := write(t, map[string]string{
		"in.jsonl": `{"value": {"service": "api", "level": "error", "msg": "m", "latency_ms": 1}}
{"value": "not json", "key": "k9", "headers": {"h": "v"}}
`,
		"errors.yaml":    "- {key: api, value: {service: api, level: error, msg: m, latency_ms: 1}}\n",
		"files_test.yml": "pipeline: logs.yaml\ncases:\n  - input: in.jsonl\n    expect:\n      log-errors: errors.yaml\n",
	})
	var out bytes.Buffer
	res, err := Run(context.Background(), filepath.Join(dir, "files_test.yml"), &out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 1 || !strings.Contains(out.String(), "topic raw-logs-dlq: 1 record(s) not in expect (list the topic, or [] for none):") ||
		!strings.Contains(out.String(), `+ key="k9" value="not json" headers={h:"v", tributary.error:`) {
		t.Fatalf("result %+v:\n%s", res, out.String())
	}
}

func TestExpectError(t *testing.T) {
	dir := write(t, map[string]string{
		"stop.yaml": "apiVersion: tributary.io/v1\nkind: Pipeline\nmetadata: {name: s}\nspec:\n  input: {topics: [a]}\n  processors: [{filter: value.ok}]\n  outputs: [{topic: b}]\n",
		"stop_test.yaml": `pipeline: stop.yaml
cases:
  - name: stops as expected
    input: [{value: {ok: true}}, {value: {ok: 1}}]
    expectError: "invalid operation: bool(int)"
  - name: stops unexpectedly
    input: [{value: {ok: 1}}]
    expect: {b: []}
  - name: does not stop
    input: [{value: {ok: true}}]
    expectError: boom
`,
	})
	var out bytes.Buffer
	res, err := Run(context.Background(), filepath.Join(dir, "stop_test.yaml"), &out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Passed != 1 || res.Failed != 2 ||
		!strings.Contains(out.String(), "the pipeline stopped: pipeline stopped on a record error: record a[0]@0: processor 0 (filter at") ||
		!strings.Contains(out.String(), `want the pipeline to stop with an error containing "boom"; it did not stop`) {
		t.Fatalf("result %+v:\n%s", res, out.String())
	}
}

func TestBadTestFiles(t *testing.T) {
	dir := write(t, map[string]string{
		"unknown_test.yaml":  "pipeline: logs.yaml\ncases: [{name: x, inputs: []}]\n",
		"nothing_test.yaml":  "name: x\n",
		"badpipe.yaml":       "apiVersion: tributary.io/v1\nkind: Pipeline\nmetadata: {name: b}\nspec: {}\n",
		"badpipe_test.yaml":  "pipeline: badpipe.yaml\ncases: [{name: x}]\n",
		"badinput_test.yaml": "pipeline: logs.yaml\ncases: [{input: in.csv}]\n",
	})
	cases := map[string]string{
		"unknown_test.yaml":  "field inputs not found",
		"nothing_test.yaml":  "missing pipeline",
		"badpipe_test.yaml":  "badpipe.yaml:4:7: spec: missing required field \"input\"",
		"badinput_test.yaml": "want a .jsonl, .ndjson, .yaml or .yml file of records",
		"missing_test.yaml":  "no such file",
	}
	for f, want := range cases {
		_, err := Run(context.Background(), filepath.Join(dir, f), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", f, err, want)
		}
	}
}
