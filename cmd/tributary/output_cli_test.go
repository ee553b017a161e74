package main

import (
	"encoding/json"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestCLIOutputFormats runs every command that prints data with --output
// json and --output yaml against one server, parses both, and checks they
// carry the same data; the default table has its header.
func TestCLIOutputFormats(t *testing.T) {
	s := startServer(t, t.TempDir())
	s.mustCLI(t, nil, "topic", "create", "ledger", "--partitions", "2", "--config", "retention.ms=86400000")
	s.mustCLI(t, strings.NewReader("a\nb\nc\n"), "produce", "--topic", "ledger")
	s.mustCLI(t, nil, "consume", "--topic", "ledger", "--group", "auditors", "--from-beginning",
		"--max-messages", "3", "--timeout", "20s")

	tests := []struct {
		name        string
		args        []string
		tableHeader string // a line the table output starts with ("" to skip)
		stdin       string
		local       bool // runs without a broker (no --bootstrap)
	}{
		{"topic list", []string{"topic", "list"}, "TOPIC", "", false},
		{"topic describe", []string{"topic", "describe", "ledger"}, "", "", false},
		{"topic create", []string{"topic", "create", "scratch-%s"}, "", "", false},
		{"topic alter", []string{"topic", "alter", "ledger", "--config", "retention.ms=3600000"}, "", "", false},
		{"group list", []string{"group", "list"}, "GROUP", "", false},
		{"group describe", []string{"group", "describe", "auditors"}, "", "", false},
		{"group reset dry run", []string{"group", "reset-offsets", "auditors", "--topic", "ledger", "--to-earliest", "--dry-run"}, "TOPIC", "", false},
		{"produce", []string{"produce", "--topic", "ledger"}, "", "d\n", false},
		{"version", []string{"version"}, "tributary ", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run := func(format string) string {
				args := append([]string(nil), tc.args...)
				for i := range args {
					args[i] = strings.ReplaceAll(args[i], "%s", format)
				}
				args = append(args, "--output", format)
				if tc.local {
					r := runProgram(t, nil, binPath, args...)
					if r.code != 0 {
						t.Fatalf("tributary %v: exit %d: %s", args, r.code, r.stderr)
					}
					return r.stdout
				}
				return s.mustCLI(t, strings.NewReader(tc.stdin), args...)
			}
			if tc.tableHeader != "" {
				if out := run("table"); !strings.HasPrefix(out, tc.tableHeader) {
					t.Errorf("table output starts %q, want %q", firstLine(out), tc.tableHeader)
				}
			}
			var fromJSON, fromYAML any
			jsonOut, yamlOut := run("json"), run("yaml")
			if err := json.Unmarshal([]byte(jsonOut), &fromJSON); err != nil {
				t.Fatalf("--output json is not JSON: %v\n%s", err, jsonOut)
			}
			if err := yaml.Unmarshal([]byte(yamlOut), &fromYAML); err != nil {
				t.Fatalf("--output yaml is not YAML: %v\n%s", err, yamlOut)
			}
			if strings.HasPrefix(strings.TrimSpace(yamlOut), "{") || strings.HasPrefix(strings.TrimSpace(yamlOut), "[") {
				t.Errorf("--output yaml printed JSON:\n%s", yamlOut)
			}
			// Two creates make two topics with their own ids; everything else
			// prints the same data twice.
			if j, y := normalize(jsonOut), normalize(yamlOut); tc.name != "topic create" && !reflect.DeepEqual(j, y) {
				t.Errorf("json and yaml differ:\njson: %v\nyaml: %v", j, y)
			}
			if fromJSON == nil {
				t.Errorf("--output json printed nothing")
			}
		})
	}
}

// normalize parses JSON or YAML text into comparable values (YAML numbers
// become float64 as JSON's do).
func normalize(text string) any {
	var v any
	if err := yaml.Unmarshal([]byte(text), &v); err != nil {
		return err.Error()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return err.Error()
	}
	return out
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// TestCLIConsumeYAML checks consume prints one YAML document per record.
func TestCLIConsumeYAML(t *testing.T) {
	s := startServer(t, t.TempDir())
	s.mustCLI(t, strings.NewReader("k1\tv1\nk2\tv2\n"), "produce", "--topic", "docs", "--key-separator", "\t")
	out := s.mustCLI(t, nil, "consume", "--topic", "docs", "--from-beginning", "--max-messages", "2",
		"--timeout", "20s", "--output", "yaml")
	dec := yaml.NewDecoder(strings.NewReader(out))
	var got []string
	for {
		var rec struct {
			Key   string `yaml:"key"`
			Value string `yaml:"value"`
			Topic string `yaml:"topic"`
		}
		if err := dec.Decode(&rec); err != nil {
			break
		}
		got = append(got, rec.Topic+"/"+rec.Key+"="+rec.Value)
	}
	if strings.Join(got, " ") != "docs/k1=v1 docs/k2=v2" {
		t.Fatalf("records %v from:\n%s", got, out)
	}
}

// TestCLILogLevel changes a running node's log level and reads it back.
func TestCLILogLevel(t *testing.T) {
	s := startServer(t, t.TempDir())
	run := func(args ...string) string {
		t.Helper()
		r := runProgram(t, nil, binPath, append(args, "--http", s.http)...)
		if r.code != 0 {
			t.Fatalf("tributary %v: exit %d: %s", args, r.code, r.stderr)
		}
		return r.stdout
	}
	if out := run("log-level", "get"); out != "log level of "+s.http+" is info\n" {
		t.Fatalf("get: %q", out)
	}
	if out := run("log-level", "set", "DEBUG"); out != "log level of "+s.http+" set to debug\n" {
		t.Fatalf("set: %q", out)
	}
	var res logLevelResult
	if err := json.Unmarshal([]byte(run("log-level", "get", "--output", "json")), &res); err != nil || res.Level != "debug" {
		t.Fatalf("get --output json: %+v, %v", res, err)
	}
	// The server really logs at debug now: its own change line is there.
	deadline := 50
	for !strings.Contains(s.stderr.String(), "log level changed") && deadline > 0 {
		deadline--
		run("log-level", "get")
	}
	if !strings.Contains(s.stderr.String(), "log level changed") {
		t.Fatalf("the server did not log the change:\n%s", tail(s.stderr.String(), 20))
	}
}

// TestCLICompletionBash sources the bash script in a real bash and completes.
func TestCLICompletionBash(t *testing.T) {
	script := runProgram(t, nil, binPath, "completion", "bash")
	if script.code != 0 {
		t.Fatalf("completion bash: %s", script.stderr)
	}
	tests := []struct {
		words []string // after the binary; the last is being completed
		want  string
	}{
		{[]string{"to"}, "topic"},
		{[]string{"topic", "de"}, "describe delete"},
		{[]string{"topic", "create", "x", "--rep"}, "--replication-factor"},
		{[]string{"group", "list", "--output", "y"}, "yaml"},
		{[]string{"serve", "--groups-off"}, "--groups-offsets-retention"},
		{[]string{"completion", ""}, "bash zsh"},
	}
	for _, tc := range tests {
		if got := bashComplete(t, script.stdout, tc.words...); got != tc.want {
			t.Errorf("completing %v: got %q, want %q", tc.words, got, tc.want)
		}
	}
}

// bashComplete runs the bash completion script in a real bash for the
// words after the binary (the last is being completed) and returns the
// candidates, space-separated.
func bashComplete(t *testing.T, script string, words ...string) string {
	t.Helper()
	all := append([]string{binPath}, words...)
	quoted := make([]string, len(all))
	for i, w := range all {
		quoted[i] = "'" + w + "'"
	}
	prog := script + "\nCOMP_WORDS=(" + strings.Join(quoted, " ") + "); COMP_CWORD=" +
		itoa(len(all)-1) + "; _tributary; echo \"${COMPREPLY[*]}\"\n"
	out, err := exec.Command("bash", "-c", prog).CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}
