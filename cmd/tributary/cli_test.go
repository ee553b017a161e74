package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func describeJSON(t *testing.T, s *server, topic string, extra ...string) topicDescription {
	t.Helper()
	out := s.mustCLI(t, nil, append([]string{"topic", "describe", topic, "--output", "json"}, extra...)...)
	var ds []topicDescription
	if err := json.Unmarshal([]byte(out), &ds); err != nil {
		t.Fatalf("describe --output json: %v\n%s", err, out)
	}
	if len(ds) != 1 || ds[0].Topic != topic {
		t.Fatalf("describe %s returned %+v", topic, ds)
	}
	return ds[0]
}

func configValue(d topicDescription, name string) (string, bool) {
	for _, c := range d.Configs {
		if c.Name == name {
			return c.Value, true
		}
	}
	return "", false
}

func listJSON(t *testing.T, s *server) map[string]topicSummary {
	t.Helper()
	out := s.mustCLI(t, nil, "topic", "list", "--output", "json")
	var ts []topicSummary
	if err := json.Unmarshal([]byte(out), &ts); err != nil {
		t.Fatalf("list --output json: %v\n%s", err, out)
	}
	m := make(map[string]topicSummary, len(ts))
	for _, x := range ts {
		m[x.Topic] = x
	}
	return m
}

// TestCLITopicLifecycle drives topic create, list, describe, alter and delete
// through the binary, in table and JSON output.
func TestCLITopicLifecycle(t *testing.T) {
	s := startServer(t, t.TempDir())

	out := s.mustCLI(t, nil, "topic", "create", "orders", "--partitions", "3", "--replication-factor", "1",
		"--config", "retention.ms=3600000", "--config", "cleanup.policy=compact,delete")
	if !strings.Contains(out, `created topic "orders" (partitions 3, replication factor 1)`) {
		t.Fatalf("create output: %q", out)
	}
	var created topicResult
	out = s.mustCLI(t, nil, "topic", "create", "payments", "--output", "json")
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatalf("create --output json: %v\n%s", err, out)
	}
	if created.Topic != "payments" || created.Partitions != 1 || created.Action != "created" || created.ID == "" {
		t.Fatalf("create json = %+v", created)
	}

	// A duplicate is a clear error with exit code 1.
	r := s.cli(t, nil, "topic", "create", "orders")
	if r.code != 1 || !strings.Contains(r.stderr, "TOPIC_ALREADY_EXISTS") || strings.Contains(r.stderr, "goroutine") {
		t.Fatalf("duplicate create: exit %d, stderr %q", r.code, r.stderr)
	}

	// list: the table has a row per topic, the JSON the same data.
	out = s.mustCLI(t, nil, "topic", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "TOPIC") ||
		!strings.HasPrefix(lines[1], "orders ") || !strings.Contains(lines[1], " 3 ") ||
		!strings.HasPrefix(lines[2], "payments ") {
		t.Fatalf("topic list table:\n%s", out)
	}
	topics := listJSON(t, s)
	if len(topics) != 2 || topics["orders"].Partitions != 3 || topics["orders"].ReplicationFactor != 1 ||
		topics["payments"].Partitions != 1 {
		t.Fatalf("topic list json: %+v", topics)
	}

	// describe: partitions with leader, replicas and ISR, and the overrides.
	d := describeJSON(t, s, "orders")
	if len(d.Partitions) != 3 || d.ID != topics["orders"].ID {
		t.Fatalf("describe orders: %+v", d)
	}
	for i, p := range d.Partitions {
		if p.Partition != int32(i) || p.Leader != 1 || !slices.Equal(p.Replicas, []int32{1}) ||
			!slices.Equal(p.ISR, []int32{1}) || p.StartOffset != 0 || p.EndOffset != 0 {
			t.Fatalf("partition %d: %+v", i, p)
		}
	}
	if v, _ := configValue(d, "retention.ms"); v != "3600000" {
		t.Fatalf("retention.ms = %q, want 3600000; configs %+v", v, d.Configs)
	}
	if v, _ := configValue(d, "cleanup.policy"); v != "compact,delete" {
		t.Fatalf("cleanup.policy = %q; configs %+v", v, d.Configs)
	}
	if _, ok := configValue(d, "segment.bytes"); ok {
		t.Fatalf("segment.bytes is not an override but is listed: %+v", d.Configs)
	}
	all := describeJSON(t, s, "orders", "--all-configs")
	if v, ok := configValue(all, "segment.bytes"); !ok || v == "" {
		t.Fatalf("--all-configs lacks segment.bytes: %+v", all.Configs)
	}
	out = s.mustCLI(t, nil, "topic", "describe", "orders")
	for _, want := range []string{"Topic: orders", "PARTITION", "LEADER", "ISR", "retention.ms", "3600000", "DYNAMIC_TOPIC_CONFIG"} {
		if !strings.Contains(out, want) {
			t.Fatalf("describe table lacks %q:\n%s", want, out)
		}
	}

	// alter: set, delete and grow in one command.
	out = s.mustCLI(t, nil, "topic", "alter", "orders", "--config", "segment.bytes=1048576",
		"--delete-config", "retention.ms", "--partitions", "4")
	if !strings.Contains(out, `altered topic "orders"`) {
		t.Fatalf("alter output: %q", out)
	}
	d = describeJSON(t, s, "orders")
	if len(d.Partitions) != 4 {
		t.Fatalf("after alter: %d partitions, want 4", len(d.Partitions))
	}
	if v, _ := configValue(d, "segment.bytes"); v != "1048576" {
		t.Fatalf("after alter segment.bytes = %q; configs %+v", v, d.Configs)
	}
	if _, ok := configValue(d, "retention.ms"); ok {
		t.Fatalf("after alter retention.ms still overridden: %+v", d.Configs)
	}
	r = s.cli(t, nil, "topic", "alter", "orders", "--config", "retention.ms=soon")
	if r.code != 1 || !strings.Contains(r.stderr, "retention.ms") {
		t.Fatalf("bad alter: exit %d, stderr %q", r.code, r.stderr)
	}

	// delete, then the topic is gone and describing it is an error.
	out = s.mustCLI(t, nil, "topic", "delete", "payments")
	if !strings.Contains(out, `deleted topic "payments"`) {
		t.Fatalf("delete output: %q", out)
	}
	if topics := listJSON(t, s); len(topics) != 1 || topics["orders"].Topic == "" {
		t.Fatalf("after delete: %+v", topics)
	}
	r = s.cli(t, nil, "topic", "describe", "payments")
	if r.code != 1 || !strings.Contains(r.stderr, "payments") {
		t.Fatalf("describe deleted topic: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestCLIProduceConsume round-trips keyed lines with headers through the CLI.
func TestCLIProduceConsume(t *testing.T) {
	s := startServer(t, t.TempDir())
	s.mustCLI(t, nil, "topic", "create", "events", "--partitions", "3")
	const n = 300
	var in strings.Builder
	want := make([]string, n)
	for i := range n {
		fmt.Fprintf(&in, "user-%d,event %d with, a comma\n", i%17, i)
		want[i] = fmt.Sprintf("user-%d=event %d with, a comma|source=cli", i%17, i)
	}
	out := s.mustCLI(t, strings.NewReader(in.String()), "produce", "--topic", "events",
		"--key-separator", ",", "--header", "source=cli", "--compression", "snappy")
	if !strings.Contains(out, fmt.Sprintf(`produced %d records to "events"`, n)) {
		t.Fatalf("produce output: %q", out)
	}

	r := s.cli(t, nil, "consume", "--topic", "events", "--from-beginning", "--max-messages", strconv.Itoa(n),
		"--timeout", "15s", "--format", `%k=%v|%h\n`)
	if r.code != 0 {
		t.Fatalf("consume: exit %d: %s", r.code, r.stderr)
	}
	got := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	// Three partitions: order holds per key, so compare as sorted sets and
	// check each key's values are in production order.
	slices.Sort(got)
	sorted := slices.Clone(want)
	slices.Sort(sorted)
	if !slices.Equal(got, sorted) {
		t.Fatalf("consumed %d lines, want %d; first got %q", len(got), n, got[:min(3, len(got))])
	}
	if !strings.Contains(r.stderr, fmt.Sprintf("consumed %d records", n)) {
		t.Fatalf("consume summary: %q", r.stderr)
	}

	// JSON lines carry the coordinates of each record.
	out = s.mustCLI(t, nil, "consume", "--topic", "events", "--from-beginning", "--max-messages", "5",
		"--timeout", "15s", "--format", "json")
	jsonLines := strings.Split(strings.TrimSpace(out), "\n")
	if len(jsonLines) != 5 {
		t.Fatalf("json consume printed %d lines, want 5:\n%s", len(jsonLines), out)
	}
	for _, l := range jsonLines {
		var jr jsonRecord
		if err := json.Unmarshal([]byte(l), &jr); err != nil {
			t.Fatalf("consume json line %q: %v", l, err)
		}
		if jr.Topic != "events" || jr.Key == nil || !strings.HasPrefix(*jr.Key, "user-") ||
			jr.Headers["source"] != "cli" || jr.Timestamp == 0 || jr.Partition < 0 || jr.Partition > 2 {
			t.Fatalf("json record: %+v", jr)
		}
	}

	// Producing to a missing topic creates it (auto.create.topics.enable).
	out = s.mustCLI(t, strings.NewReader("a\nb\n"), "produce", "--topic", "fresh-topic", "--output", "json")
	var pr struct {
		Topic   string `json:"topic"`
		Records int64  `json:"records"`
	}
	if err := json.Unmarshal([]byte(out), &pr); err != nil || pr.Topic != "fresh-topic" || pr.Records != 2 {
		t.Fatalf("produce --output json = %q (%v)", out, err)
	}
	if fresh := describeJSON(t, s, "fresh-topic"); len(fresh.Partitions) != 1 || fresh.Partitions[0].EndOffset != 2 {
		t.Fatalf("auto-created topic: %+v", fresh)
	}

	// --file reads the lines from a file instead of stdin; a line without the
	// separator gets a null key.
	file := filepath.Join(t.TempDir(), "lines.txt")
	if err := os.WriteFile(file, []byte("k1;one\nno key here\nk2;two;three\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.mustCLI(t, nil, "produce", "--topic", "from-file", "--file", file, "--key-separator", ";")
	out = s.mustCLI(t, nil, "consume", "--topic", "from-file", "--from-beginning", "--max-messages", "3",
		"--timeout", "15s", "--format", "json")
	var fromFile []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var jr jsonRecord
		if err := json.Unmarshal([]byte(l), &jr); err != nil {
			t.Fatalf("consume json line %q: %v", l, err)
		}
		key := "<null>"
		if jr.Key != nil {
			key = *jr.Key
		}
		value := "<null>"
		if jr.Value != nil {
			value = *jr.Value
		}
		fromFile = append(fromFile, fmt.Sprintf("%d %s=%s", jr.Offset, key, value))
	}
	if want := []string{"0 k1=one", "1 <null>=no key here", "2 k2=two;three"}; !slices.Equal(fromFile, want) {
		t.Fatalf("produce --file read back as %q, want %q", fromFile, want)
	}

	// describe shows the end offsets adding up to what was produced.
	d := describeJSON(t, s, "events")
	var total int64
	for _, p := range d.Partitions {
		total += p.EndOffset - p.StartOffset
	}
	if total != n {
		t.Fatalf("end offsets add up to %d, want %d: %+v", total, n, d.Partitions)
	}
}

// TestCLIConsumeStartPositions checks --offset (absolute and from the end),
// --timestamp (ms and RFC 3339) and --partition on a one-partition topic with
// known timestamps.
func TestCLIConsumeStartPositions(t *testing.T) {
	s := startServer(t, t.TempDir())
	s.mustCLI(t, nil, "topic", "create", "timeline", "--partitions", "2")
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.kafka), kgo.DefaultProduceTopic("timeline"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	var recs []*kgo.Record
	for i := range 10 {
		recs = append(recs, &kgo.Record{Value: []byte("r" + strconv.Itoa(i)), Partition: 0,
			Timestamp: base.Add(time.Duration(i) * time.Minute)})
	}
	recs = append(recs, &kgo.Record{Value: []byte("other"), Partition: 1, Timestamp: base})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"offset", []string{"--partition", "0", "--offset", "7"}, "7:r7 8:r8 9:r9"},
		{"from end", []string{"--partition", "0", "--offset", "-2"}, "8:r8 9:r9"},
		{"timestamp ms", []string{"--partition", "0", "--timestamp", strconv.FormatInt(base.Add(8*time.Minute).UnixMilli(), 10)}, "8:r8 9:r9"},
		{"timestamp RFC 3339", []string{"--partition", "0", "--timestamp", "2024-05-01T12:08:30Z"}, "9:r9"},
		{"other partition", []string{"--partition", "1", "--from-beginning"}, "0:other"},
		{"beginning, all partitions", []string{"--from-beginning"}, "0:other 0:r0 1:r1 2:r2 3:r3 4:r4 5:r5 6:r6 7:r7 8:r8 9:r9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// --max-messages is exactly what should come: a wrong start shows
			// as a wrong first record, or as too few records by the timeout.
			n := strconv.Itoa(len(strings.Fields(tc.want)))
			args := append([]string{"consume", "--topic", "timeline", "--max-messages", n, "--timeout", "10s",
				"--format", `%o:%v\n`}, tc.args...)
			out := strings.Fields(s.mustCLI(t, nil, args...))
			slices.Sort(out) // partitions interleave in any order
			if got := strings.Join(out, " "); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestCLIErrors checks that mistakes give a message and exit code 1, never a
// stack trace.
func TestCLIErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown topic action", []string{"topic", "rename"}, `unknown action "rename"`},
		{"unknown flag", []string{"topic", "list", "--colour"}, "flag provided but not defined: -colour"},
		{"missing topic", []string{"produce"}, "--topic is required"},
		{"bad output", []string{"topic", "list", "--output", "xml"}, `--output "xml": want table, json or yaml`},
		{"two start flags", []string{"consume", "--topic", "x", "--from-beginning", "--offset", "3"}, "at most one of"},
		{"group and partition", []string{"consume", "--topic", "x", "--group", "g", "--partition", "0"}, "--partition cannot be used with --group"},
		{"bad format", []string{"consume", "--topic", "x", "--format", "%q"}, "unknown directive"},
		{"no broker", []string{"topic", "list", "--bootstrap", "127.0.0.1:1", "--request-timeout", "2s"}, "hint: nothing accepts connections at that address: start a broker with 'tributary serve'"},
		{"bad serve config", []string{"serve", "--log-format", "xml", "--node-id", "-3"}, `log_format: "xml"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runProgram(t, nil, binPath, tc.args...)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1; stderr %q", r.code, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("stderr lacks %q:\n%s", tc.want, r.stderr)
			}
			if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
				t.Fatalf("stack trace on stderr:\n%s", r.stderr)
			}
		})
	}
}

// TestCLIConsumeGroup checks that --group commits what it printed, so a
// second run with the same group continues where the first stopped.
func TestCLIConsumeGroup(t *testing.T) {
	s := startServer(t, t.TempDir())
	s.mustCLI(t, nil, "topic", "create", "jobs")
	var in strings.Builder
	for i := range 10 {
		fmt.Fprintf(&in, "job-%d\n", i)
	}
	s.mustCLI(t, strings.NewReader(in.String()), "produce", "--topic", "jobs")

	first := s.mustCLI(t, nil, "consume", "--topic", "jobs", "--group", "workers", "--from-beginning",
		"--max-messages", "4", "--timeout", "20s")
	if first != "job-0\njob-1\njob-2\njob-3\n" {
		t.Fatalf("first run printed %q", first)
	}
	second := s.mustCLI(t, nil, "consume", "--topic", "jobs", "--group", "workers", "--from-beginning",
		"--max-messages", "6", "--timeout", "20s")
	if second != "job-4\njob-5\njob-6\njob-7\njob-8\njob-9\n" {
		t.Fatalf("second run printed %q, want job-4..job-9 (resumed from the committed offset)", second)
	}
}
