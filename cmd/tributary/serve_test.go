package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeSIGTERMAndRestart checks that SIGTERM shuts the node down cleanly
// (exit 0, logs flushed) and that a restart on the same data dir serves the
// same data.
func TestServeSIGTERMAndRestart(t *testing.T) {
	dataDir := t.TempDir()
	s := startServer(t, dataDir)

	resp, err := http.Get("http://" + s.http + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "ok" {
		t.Fatalf("/healthz = %d %q", resp.StatusCode, body)
	}

	s.mustCLI(t, nil, "topic", "create", "durable", "--partitions", "2", "--config", "retention.ms=86400000")
	var in strings.Builder
	for i := range 1000 {
		in.WriteString("k" + string(rune('a'+i%26)) + "|line " + strings.Repeat("z", i%50) + "\n")
	}
	s.mustCLI(t, strings.NewReader(in.String()), "produce", "--topic", "durable", "--key-separator", "|")
	before := describeJSON(t, s, "durable")

	code, err := s.terminate(20 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	log := s.stderr.String()
	for _, want := range []string{"shutting down", "node stopped"} {
		if !strings.Contains(log, want) {
			t.Fatalf("server log lacks %q:\n%s", want, tail(log, 30))
		}
	}
	if entries, err := os.ReadDir(dataDir); err != nil || len(entries) == 0 {
		t.Fatalf("data dir %s is empty after shutdown (%v)", dataDir, err)
	}
	// The logs were flushed and closed cleanly: each partition's checkpoint
	// puts the recovery point (everything below it fsynced) at the end offset,
	// and carries the index checksums only a clean Close writes.
	for _, p := range before.Partitions {
		path := filepath.Join(dataDir, fmt.Sprintf("durable-%d", p.Partition), "log.checkpoint")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		cp := string(b)
		if !strings.Contains(cp, fmt.Sprintf("\nrecovery %d\n", p.EndOffset)) || !strings.Contains(cp, "\nindexes ") {
			t.Fatalf("%s after SIGTERM, want recovery %d and index checksums:\n%s", path, p.EndOffset, cp)
		}
	}

	s2 := startServer(t, dataDir)
	after := describeJSON(t, s2, "durable")
	if after.ID != before.ID || len(after.Partitions) != 2 {
		t.Fatalf("after restart: %+v, before: %+v", after, before)
	}
	for i := range after.Partitions {
		if after.Partitions[i].EndOffset != before.Partitions[i].EndOffset {
			t.Fatalf("partition %d end offset %d after restart, %d before", i,
				after.Partitions[i].EndOffset, before.Partitions[i].EndOffset)
		}
	}
	if v, _ := configValue(after, "retention.ms"); v != "86400000" {
		t.Fatalf("retention.ms after restart = %q", v)
	}
	r := s2.cli(t, nil, "consume", "--topic", "durable", "--from-beginning", "--max-messages", "1000",
		"--timeout", "15s", "--format", `%v\n`)
	if r.code != 0 || strings.Count(r.stdout, "\n") != 1000 || !strings.Contains(r.stdout, "line zzzz") {
		t.Fatalf("consume after restart: exit %d, %d lines, stderr %q", r.code, strings.Count(r.stdout, "\n"), r.stderr)
	}
}

// TestServeConfigFile starts the binary with a YAML config whose flags
// override part of it, and checks the broker uses the file's topic defaults.
func TestServeConfigFile(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "tributary.yaml")
	yaml := "node_id: 1\nlog_format: json\ntopic_defaults:\n  retention.ms: 1234567\n  segment.bytes: 2097152\n"
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, filepath.Join(dir, "data"), "--config", cfgPath)
	s.mustCLI(t, nil, "topic", "create", "defaults")
	d := describeJSON(t, s, "defaults", "--all-configs")
	if v, _ := configValue(d, "retention.ms"); v != "1234567" {
		t.Fatalf("retention.ms = %q, want the config file's topic default 1234567; configs %+v", v, d.Configs)
	}
	if v, _ := configValue(d, "segment.bytes"); v != "2097152" {
		t.Fatalf("segment.bytes = %q, want 2097152", v)
	}
	if !strings.Contains(s.stderr.String(), `"msg":"node started"`) {
		t.Fatalf("log_format json from the file not used:\n%s", tail(s.stderr.String(), 10))
	}

	// An unknown key stops the start with file:line:col.
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("node_id: 1\nlisten: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runProgram(t, nil, binPath, "serve", "--config", bad)
	if r.code != 1 || !strings.Contains(r.stderr, bad+`:2:1: unknown key "listen"`) {
		t.Fatalf("bad config: exit %d, stderr %q", r.code, r.stderr)
	}
}
