package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/platform/nodetest"
)

// jsonElsewhere are the commands with --output whose JSON another test
// checks, or that are long-running and print no result document.
var jsonElsewhere = map[string]string{
	"perf produce":        "TestPerfSmoke decodes its --output json report",
	"perf consume":        "TestPerfSmoke decodes its --output json report",
	"perf end-to-end":     "TestPerfSmoke decodes its --output json report",
	"cluster add-node":    "TestClusterCLI decodes add-node --output json (it needs a raft cluster)",
	"cluster remove-node": "TestClusterCLI decodes remove-node --output json (it needs a raft cluster)",
	"connector snapshot":  "TestCLIProgress decodes it for a change-capture position (the file source has none)",
	"pipeline run":        "runs a pipeline in the foreground until stopped; its output is the pipeline's log",
	"worker":              "runs a worker until stopped; its output is its log",
}

// outputCommands lists every "command" and "command action" whose flags
// include --output, read from the commands' own help as completion does.
func outputCommands(t *testing.T) []string {
	t.Helper()
	c := &cli{stdin: strings.NewReader(""), stdout: &strings.Builder{}, stderr: &strings.Builder{},
		env: func(string) (string, bool) { return "", false }, exit: func(int) {}}
	var out []string
	for _, cmd := range commands() {
		actions := helpActions(commandHelp(context.Background(), c, cmd.name, nil))
		if len(actions) == 0 {
			actions = []string{""}
		}
		for _, a := range actions {
			var earlier []string
			name := cmd.name
			if a != "" {
				earlier, name = []string{a}, cmd.name+" "+a
			}
			if slices.Contains(helpFlags(commandHelp(context.Background(), c, cmd.name, earlier)), "--output") {
				out = append(out, name)
			}
		}
	}
	return out
}

// TestCLIEveryCommandJSON runs every command that takes --output with
// --output json against a node with a worker and the file connector, and
// checks stdout is one valid JSON document. A command with --output that
// is neither run here nor in jsonElsewhere fails the test, so a new
// command cannot skip it.
func TestCLIEveryCommandJSON(t *testing.T) {
	pluginDir := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", filepath.Join(pluginDir, "file"), "../../connectors/file").CombinedOutput(); err != nil {
		t.Fatalf("build the file connector: %v\n%s", err, out)
	}
	n := bin.StartNode(t, nodetest.DataDir(t.TempDir()), nodetest.Flags("--plugin-dir", pluginDir))
	env := []string{"TRIBUTARY_BOOTSTRAP=" + n.Kafka(), "TRIBUTARY_SERVER=http://" + n.HTTP()}

	// A transaction for txn describe.
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Kafka()), kgo.TransactionalID("audit-tx"), kgo.DefaultProduceTopic("audit"),
		kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}

	logFile := filepath.Join(t.TempDir(), "app.log")
	if err := os.WriteFile(logFile, []byte("one\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(t.TempDir(), "m.yaml")
	if err := os.WriteFile(manifest, []byte(`apiVersion: tributary.io/v1
kind: Topic
metadata: {name: raw}
spec: {partitions: 1}
---
apiVersion: tributary.io/v1
kind: Pipeline
metadata: {name: copy}
spec:
  input: {topics: [raw]}
  outputs:
    - {name: out, topic: ledger}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	src := []string{"plugin=file", "type=source", "topic=ledger", "paths=" + logFile}

	steps := []struct {
		cmd   string // the command and action, as outputCommands names them
		args  []string
		stdin string
		check func(t *testing.T, doc any) // optional, beyond valid JSON
	}{
		{"topic create", []string{"ledger", "--partitions", "2"}, "", nil},
		{"topic create", []string{"scratch"}, "", nil},
		{"topic list", nil, "", nil},
		{"topic describe", []string{"ledger"}, "", nil},
		{"topic alter", []string{"ledger", "--config", "retention.ms=86400000"}, "", nil},
		{"produce", []string{"--topic", "ledger"}, "a\nb\n", nil},
		{"consume", []string{"--topic", "ledger", "--from-beginning", "--max-messages", "1", "--timeout", "20s", "--group", "auditors"}, "", nil},
		{"group list", nil, "", nil},
		{"group describe", []string{"auditors"}, "", nil},
		{"group reset-offsets", []string{"auditors", "--topic", "ledger", "--to-earliest"}, "", nil},
		{"group delete", []string{"auditors"}, "", nil},
		{"txn list", nil, "", nil},
		{"txn describe", []string{"audit-tx"}, "", nil},
		{"user create", []string{"alice", "--password", "alice-pw"}, "", nil},
		{"user list", nil, "", nil},
		{"user delete", []string{"alice"}, "", nil},
		{"acl add", []string{"--principal", "User:bob", "--operation", "read", "--topic", "ledger"}, "", nil},
		{"acl list", nil, "", nil},
		{"acl remove", []string{"--principal", "User:bob", "--operation", "read", "--topic", "ledger"}, "", nil},
		{"cluster status", nil, "", nil},
		{"connector plugins", nil, "", nil},
		{"connector spec", []string{"file"}, "", nil},
		{"connector validate", append([]string{"file"}, src[1:]...), "", nil},
		{"connector create", append([]string{"tail"}, src...), "", wantResult("connector", "tail", "created")},
		{"connector list", nil, "", nil},
		{"connector describe", []string{"tail"}, "", nil},
		{"connector update", append([]string{"tail", "poll.interval=1s"}, src...), "", wantResult("connector", "tail", "updated")},
		{"connector pause", []string{"tail"}, "", wantResult("connector", "tail", "paused")},
		{"connector resume", []string{"tail"}, "", wantResult("connector", "tail", "resumed")},
		{"connector restart", []string{"tail"}, "", wantResult("connector", "tail", "restarted")},
		{"connector delete", []string{"tail"}, "", wantResult("connector", "tail", "deleted")},
		{"apply", []string{"-f", manifest}, "", wantChanges("topic/raw created", "pipeline/copy created")},
		{"pipeline list", nil, "", nil},
		{"pipeline describe", []string{"copy"}, "", nil},
		{"pipeline logs", []string{"copy"}, "", nil},
		{"pipeline pause", []string{"copy"}, "", wantResult("pipeline", "copy", "paused")},
		{"pipeline resume", []string{"copy"}, "", wantResult("pipeline", "copy", "resumed")},
		{"pipeline restart", []string{"copy"}, "", wantResult("pipeline", "copy", "restarted")},
		{"apply", []string{"-f", manifest}, "", wantChanges("topic/raw exists", "pipeline/copy unchanged")},
		{"delete", []string{"-f", manifest}, "", wantChanges("topic/raw kept", "pipeline/copy deleted")},
		{"log-level get", []string{"--http", n.HTTP()}, "", nil},
		{"version", nil, "", nil},
		{"topic delete", []string{"scratch"}, "", nil},
	}
	ran := map[string]bool{}
	for _, st := range steps {
		ran[st.cmd] = true
		ran[strings.Fields(st.cmd)[0]] = true // a command without actions (log-level)
		args := append(append(strings.Fields(st.cmd), st.args...), "--output", "json")
		r := runProgramEnvIn(t, env, strings.NewReader(st.stdin), binPath, args...)
		if r.code != 0 {
			t.Errorf("tributary %s: exit %d\nstdout %s\nstderr %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
			continue
		}
		var doc any
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Errorf("tributary %s --output json printed no JSON document (%v):\n%s", st.cmd, err, r.stdout)
			continue
		}
		if st.check != nil {
			st.check(t, doc)
		}
	}
	for _, cmd := range outputCommands(t) {
		if !ran[cmd] && jsonElsewhere[cmd] == "" {
			t.Errorf("%q takes --output but neither this test runs it nor jsonElsewhere says which test checks its JSON", cmd)
		}
	}
}

// wantResult checks an actionResult document.
func wantResult(kind, name, result string) func(*testing.T, any) {
	return func(t *testing.T, doc any) {
		t.Helper()
		m, _ := doc.(map[string]any)
		if m["kind"] != kind || m["name"] != name || m["result"] != result {
			t.Errorf("result %v, want kind %s name %s result %s", doc, kind, name, result)
		}
	}
}

// wantChanges checks apply's or delete's list of changes, as "kind/name change".
func wantChanges(want ...string) func(*testing.T, any) {
	return func(t *testing.T, doc any) {
		t.Helper()
		list, _ := doc.([]any)
		var got []string
		for _, x := range list {
			m, _ := x.(map[string]any)
			got = append(got, m["kind"].(string)+"/"+m["name"].(string)+" "+m["change"].(string))
		}
		if !slices.Equal(got, want) {
			t.Errorf("changes %q, want %q", got, want)
		}
	}
}

// runProgramEnvIn runs name with extra environment entries and stdin.
func runProgramEnvIn(t *testing.T, env []string, stdin *strings.Reader, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(cmd.Environ(), env...)
	cmd.Stdin = stdin
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}
