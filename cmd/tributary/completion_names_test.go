package main

import (
	"strings"
	"testing"
	"time"
)

func TestNameToComplete(t *testing.T) {
	for _, tc := range []struct {
		words []string
		want  nameKind
	}{
		{[]string{"topic", "describe", "or"}, topicName},
		{[]string{"topic", "alter", ""}, topicName},
		{[]string{"topic", "delete", "a", ""}, topicName},
		{[]string{"topic", "create", ""}, noName}, // a new name
		{[]string{"topic", "describe", "--out"}, noName},
		{[]string{"consume", "--topic", ""}, topicName},
		{[]string{"produce", "-topic", "pa"}, topicName},
		{[]string{"consume", "--group", "b"}, groupName},
		{[]string{"group", "describe", ""}, groupName},
		{[]string{"group", "reset-offsets", "g", "--topic", ""}, topicName},
		{[]string{"group", "list", ""}, noName},
		{[]string{"topic", ""}, noName}, // an action
		{[]string{"group", ""}, noName},
	} {
		if got := nameToComplete(tc.words); got != tc.want {
			t.Errorf("nameToComplete(%q) = %d, want %d", tc.words, got, tc.want)
		}
	}
}

// TestCLICompletionNames completes topic and group names in bash against
// a real server, through the script `tributary completion bash` prints.
func TestCLICompletionNames(t *testing.T) {
	s := startServer(t, t.TempDir())
	s.mustCLI(t, nil, "topic", "create", "orders")
	s.mustCLI(t, nil, "topic", "create", "payments")
	s.mustCLI(t, strings.NewReader("x\n"), "produce", "--topic", "orders")
	s.mustCLI(t, nil, "consume", "--topic", "orders", "--group", "billing", "--from-beginning", "--max-messages", "1", "--timeout", "10s")

	script := runProgram(t, nil, binPath, "completion", "bash")
	if script.code != 0 {
		t.Fatalf("completion bash: %s", script.stderr)
	}
	complete := func(words ...string) string {
		t.Helper()
		return bashComplete(t, script.stdout, words...)
	}
	b := s.kafka
	for _, tc := range []struct {
		words []string
		want  string
	}{
		{[]string{"topic", "describe", "--bootstrap", b, "or"}, "orders"},
		{[]string{"topic", "delete", "--bootstrap", b, ""}, "orders payments"}, // internal topics left out
		{[]string{"topic", "delete", "--bootstrap=" + b, "__c"}, "__consumer_offsets"},
		{[]string{"consume", "--bootstrap", b, "--topic", "p"}, "payments"},
		{[]string{"consume", "--bootstrap", b, "--group", ""}, "billing"},
		{[]string{"group", "describe", "--bootstrap", b, "bi"}, "billing"},
		{[]string{"group", "reset-offsets", "billing", "--bootstrap", b, "--topic", "o"}, "orders"},
		{[]string{"perf", "e"}, "end-to-end"}, // perf's modes, from its "Modes:" help
		{[]string{"perf", "produce", "--record-s"}, "--record-size"},
	} {
		if got := complete(tc.words...); got != tc.want {
			t.Errorf("completing %q: got %q, want %q", tc.words, got, tc.want)
		}
	}
	// TRIBUTARY_BOOTSTRAP is the default, as for every client command.
	r := runProgramEnvIn(t, []string{"TRIBUTARY_BOOTSTRAP=" + b}, strings.NewReader(""), binPath, "__complete", "topic", "describe", "pay")
	if strings.TrimSpace(r.stdout) != "payments" {
		t.Errorf("completion with TRIBUTARY_BOOTSTRAP: %q", r.stdout)
	}
	// An unreachable broker gives no names, quickly.
	start := time.Now()
	if got := complete("topic", "describe", "--bootstrap", "127.0.0.1:1", ""); got != "" {
		t.Errorf("unreachable broker: completions %q", got)
	}
	if d := time.Since(start); d > 2*completeBudget+2*time.Second {
		t.Errorf("completing against an unreachable broker took %s", d)
	}
}
