package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestPipelineTestCommand: `tributary pipeline test` passes on every
// README example (the test files of pipelines/examples: log aggregation,
// CDC feed, stateful revenue) and fails, with a readable diff and exit 1,
// when one expectation of any of them is wrong.
func TestPipelineTestCommand(t *testing.T) {
	tests, err := filepath.Glob("../examples/*_test.yaml")
	if err != nil || len(tests) != 3 {
		t.Fatalf("example tests %v (%v): want the three README examples", tests, err)
	}
	stdout, stderr, code := runCLI(t, append([]string{"pipeline", "test"}, tests...)...)
	if code != 0 || !strings.Contains(stdout, "4 passed, 0 failed") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, f := range []string{"slow-and-failed / errors and slow", "slow-and-failed / a line that is not JSON", "orders-feed / inserts and updates", "revenue-by-country / paid orders summed"} {
		if !strings.Contains(stdout, "PASS  "+f) {
			t.Errorf("stdout lacks PASS  %s:\n%s", f, stdout)
		}
	}

	// One expectation made wrong in each example: the case fails with a
	// diff of the topic (+ got, - want, unchanged lines indented).
	cases := []struct {
		test, old, new string
		want           []string
	}{
		{"logs_test.yaml", "msg: db down", "msg: db is down", []string{
			"FAIL  slow-and-failed / errors and slow requests are kept, routed and trimmed",
			"    topic log-errors:\n",
			`      + key="api" value={"latency_ms":3,"level":"error","msg":"db down","service":"api"}`,
			`      - key="api" value={"latency_ms":3,"level":"error","msg":"db is down","service":"api"}`,
			"PASS  slow-and-failed / a line that is not JSON goes to the dead-letter topic",
			"1 passed, 1 failed",
		}},
		{"cdc_test.yaml", "status: paid, total", "status: shipped, total", []string{
			"FAIL  orders-feed / inserts and updates of orders pass, reshaped",
			"    topic orders-changes:\n",
			`      + key="7" value={"changed_at":1700000000000,"id":7,"status":"paid","total":12.5} headers={op:"u"}`,
			`      - key="7" value={"changed_at":1700000000000,"id":7,"status":"shipped","total":12.5} headers={op:"u"}`,
			"0 passed, 1 failed",
		}},
		{"revenue_test.yaml", "revenue: 40", "revenue: 41", []string{
			"FAIL  revenue-by-country / paid orders summed per customer country and hour, each hour once",
			"    topic revenue-by-country:\n",
			`      + key="fr" value={"country":"fr","hour":0,"revenue":40}`,
			`      - key="fr" value={"country":"fr","hour":0,"revenue":41}`,
			`        key="jp" value={"country":"jp","hour":0,"revenue":12.5}`,
			"0 passed, 1 failed",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.test, func(t *testing.T) {
			dir := t.TempDir()
			entries, err := os.ReadDir("../examples")
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				data, err := os.ReadFile(filepath.Join("../examples", e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				if e.Name() == tc.test {
					wrong := strings.Replace(string(data), tc.old, tc.new, 1)
					if wrong == string(data) {
						t.Fatalf("%s no longer contains %q: fix this test's replacement", tc.test, tc.old)
					}
					data = []byte(wrong)
				}
				if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			stdout, stderr, code := runCLI(t, "pipeline", "test", filepath.Join(dir, tc.test))
			for _, w := range tc.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q", w)
				}
			}
			if code != 1 || !strings.Contains(stderr, "tributary pipeline: 1 test case(s) failed") {
				t.Errorf("exit %d, stderr %q", code, stderr)
			}
			if t.Failed() {
				t.Logf("stdout:\n%s", stdout)
			}
		})
	}
}

// TestLintCommand: every problem of every file at once, as file:line:col,
// exit 1; clean manifests pass; with the plugin directory, connector configs
// are validated by the plugin itself.
func TestLintCommand(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"a.yaml": "apiVersion: tributary.io/v1\nkind: Topic\nmetadata: {name: t}\nspec: {partitions: 0}\n",
		"b.yaml": "apiVersion: tributary.io/v1\nkind: Pipeline\nmetadata: {name: p}\nspec:\n  input: {topics: [t]}\n  processors:\n    - filter: value.level = 1\n  outputs: [{topic: u}]\n",
		"c.yaml": "apiVersion: tributary.io/v1\nkind: Connector\nmetadata: {name: c}\nspec:\n  plugin: file\n  type: source\n  topic: t\n  config:\n    start: middle\n    colour: red\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stdout, stderr, code := runCLI(t, "lint", dir)
	want := []string{
		filepath.Join(dir, "a.yaml") + ":4:20: spec.partitions: 0 is out of range: want 1 to 100000",
		filepath.Join(dir, "b.yaml") + ":7:27: spec.processors[0].filter: unexpected token Operator(\"=\")",
	}
	for _, w := range want {
		if !strings.Contains(stdout, w) {
			t.Errorf("stdout lacks %q:\n%s", w, stdout)
		}
	}
	if code != 1 || strings.Count(stdout, "\n") != 2 || !strings.Contains(stderr, "2 problem(s) found; nothing was run or changed") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	// With the plugins, the file connector's own config spec finds two more.
	stdout, _, code = runCLI(t, "lint", "--plugin-dir", pluginDir, dir)
	for _, w := range []string{
		filepath.Join(dir, "c.yaml") + ":9:5: spec.config.start: must be one of beginning, end",
		filepath.Join(dir, "c.yaml") + ":9:5: spec.config.paths: required field is missing",
		filepath.Join(dir, "c.yaml") + ":10:5: spec.config.colour: unknown field",
	} {
		if !strings.Contains(stdout, w) {
			t.Errorf("with plugins, stdout lacks %q:\n%s", w, stdout)
		}
	}
	if code != 1 || strings.Count(stdout, "\n") != 5 {
		t.Errorf("with plugins: exit %d, stdout:\n%s", code, stdout)
	}

	stdout, stderr, code = runCLI(t, "lint", "../examples")
	if code != 0 || !strings.Contains(stdout, "ok: 11 manifest(s) in 3 file(s): 7 Topic, 1 Connector, 3 Pipeline") ||
		!strings.Contains(stderr, "note: 3 connector config(s) were checked for structure only") {
		t.Errorf("examples: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	// The README's examples, connector configs included, are valid for the
	// plugins themselves.
	stdout, stderr, code = runCLI(t, "lint", "--plugin-dir", pluginDir, "../examples")
	if code != 0 || !strings.Contains(stdout, "ok: 11 manifest(s)") || strings.Contains(stderr, "note:") {
		t.Errorf("examples with plugins: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// TestPipelineRunCommand: `tributary pipeline run` creates the file's
// topics, runs until SIGTERM and exits 0; a pipeline with a connector is
// refused with a clear error before anything runs.
func TestPipelineRunCommand(t *testing.T) {
	addr := startBroker(t)
	file := writeFile(t, "run.yaml", `apiVersion: tributary.io/v1
kind: Topic
metadata: {name: run-in}
spec: {partitions: 2}
---
apiVersion: tributary.io/v1
kind: Topic
metadata: {name: run-out}
spec: {config: {retention.ms: "3600000"}}
---
apiVersion: tributary.io/v1
kind: Pipeline
metadata: {name: upper}
spec:
  input: {topics: [run-in]}
  processors:
    - map: {value: upper(value)}
  outputs: [{topic: run-out}]
`)
	c := start(t, "pipeline run", "pipeline", "run", "-f", file, "--bootstrap", addr, "--instance", "cli", "--stats-interval", "200ms")
	waitFor(t, time.Minute, "the topics to be created", func() bool { return strings.Contains(c.out.String(), "pipeline starting") })
	produce(t, addr, []*kgo.Record{{Topic: "run-in", Value: []byte("hello")}, {Topic: "run-in", Value: []byte("world")}})
	waitFor(t, time.Minute, "two records processed", func() bool { return strings.Contains(c.out.String(), "in=2 out=2") })
	if code, err := c.terminate(30 * time.Second); err != nil || code != 0 {
		t.Fatalf("exit %d, %v", code, err)
	}
	got := drain(t, addr, "run-out", false)
	if len(got) != 2 {
		t.Fatalf("run-out holds %d records, want 2", len(got))
	}
	if both := string(got[0].Value) + string(got[1].Value); both != "HELLOWORLD" && both != "WORLDHELLO" {
		t.Fatalf("run-out holds %q and %q", got[0].Value, got[1].Value)
	}

	conn := writeFile(t, "conn.yaml", "apiVersion: tributary.io/v1\nkind: Pipeline\nmetadata: {name: c}\nspec:\n  input: {connector: {plugin: file, config: {paths: /tmp/x.log}}}\n  outputs: [{topic: b}]\n")
	_, stderr, code := runCLI(t, "pipeline", "run", "-f", conn, "--bootstrap", addr)
	if code != 1 || !strings.Contains(stderr, "connector inputs and outputs run on workers (deploy the pipeline with tributary apply)") {
		t.Fatalf("connector pipeline: exit %d, stderr %q", code, stderr)
	}
	_, stderr, code = runCLI(t, "pipeline", "run", "-f", writeFile(t, "bad.yaml", "kind: Nope\n"), "--bootstrap", addr)
	if code != 1 || !strings.Contains(stderr, "bad.yaml:1:7: kind: unknown kind \"Nope\"") {
		t.Fatalf("invalid manifest: exit %d, stderr %q", code, stderr)
	}
}
