package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func describeGroupJSON(t *testing.T, s *server, group string) groupDescription {
	t.Helper()
	var out []groupDescription
	if err := json.Unmarshal([]byte(s.mustCLI(t, nil, "group", "describe", group, "--output", "json")), &out); err != nil || len(out) != 1 {
		t.Fatalf("describe json: %v (%d groups)", err, len(out))
	}
	return out[0]
}

func committedAt(d groupDescription, topic string, p int32) (committed, lag int64) {
	for _, pl := range d.Partitions {
		if pl.Topic == topic && pl.Partition == p {
			return pl.Committed, pl.Lag
		}
	}
	return -2, -2
}

// TestCLIGroup drives list, describe (with lag), reset-offsets (every target and
// --dry-run) and delete against a real server.
func TestCLIGroup(t *testing.T) {
	s := startServer(t, t.TempDir())
	s.mustCLI(t, nil, "topic", "create", "orders", "--partitions", "2")
	s.mustCLI(t, strings.NewReader(strings.Repeat("order\n", 10)), "produce", "--topic", "orders", "--partition", "0")
	s.mustCLI(t, nil, "consume", "--topic", "orders", "--group", "billing", "--from-beginning", "--max-messages", "4", "--timeout", "10s")

	var list []groupSummary
	if err := json.Unmarshal([]byte(s.mustCLI(t, nil, "group", "list", "--output", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Group != "billing" || list[0].State != "Empty" || list[0].ProtocolType != "consumer" {
		t.Fatalf("group list: %+v", list)
	}
	if out := s.mustCLI(t, nil, "group", "list", "--state", "Stable"); strings.Contains(out, "billing") {
		t.Fatalf("state filter kept an Empty group:\n%s", out)
	}

	d := describeGroupJSON(t, s, "billing")
	if c, lag := committedAt(d, "orders", 0); c != 4 || lag != 6 || d.TotalLag != 6 || d.State != "Empty" {
		t.Fatalf("describe: committed %d lag %d total %d state %s", c, lag, d.TotalLag, d.State)
	}
	table := s.mustCLI(t, nil, "group", "describe", "billing")
	if !strings.Contains(table, "COMMITTED") || !strings.Contains(table, "LAG") || !strings.Contains(table, "total lag 6") {
		t.Fatalf("describe table:\n%s", table)
	}

	resets := []struct {
		name string
		args []string
		want int64 // new committed offset of orders/0
	}{
		{"dry run changes nothing", []string{"--to-earliest", "--dry-run"}, 4},
		{"to earliest", []string{"--to-earliest"}, 0},
		{"to latest", []string{"--to-latest"}, 10},
		{"shift back", []string{"--shift-by", "-3"}, 7},
		{"shift clamps at the end", []string{"--shift-by", "100"}, 10},
		{"to a datetime before every record", []string{"--to-datetime", "2001-01-01T00:00:00Z"}, 0},
		{"to a datetime after every record", []string{"--to-datetime", time.Now().Add(time.Hour).Format(time.RFC3339)}, 10},
	}
	for _, tc := range resets {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"group", "reset-offsets", "billing", "--topic", "orders:0", "--output", "json"}, tc.args...)
			var res struct {
				DryRun     bool          `json:"dry_run"`
				Partitions []offsetReset `json:"partitions"`
			}
			if err := json.Unmarshal([]byte(s.mustCLI(t, nil, args...)), &res); err != nil || len(res.Partitions) != 1 {
				t.Fatalf("reset output: %v %+v", err, res)
			}
			if c, _ := committedAt(describeGroupJSON(t, s, "billing"), "orders", 0); c != tc.want {
				t.Fatalf("committed %d after reset, want %d", c, tc.want)
			}
			if tc.args[len(tc.args)-1] == "--dry-run" && (!res.DryRun || res.Partitions[0].New != 0) {
				t.Fatalf("dry run result %+v", res)
			}
		})
	}
	// --to-datetime lands on the first record at or after the time, not on
	// either end: partition 1 gets ten records a minute apart in 2020.
	prod, err := kgo.NewClient(kgo.SeedBrokers(s.kafka), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	var recs []*kgo.Record
	for i := range 10 {
		recs = append(recs, &kgo.Record{Topic: "orders", Partition: 1, Value: []byte("old"), Timestamp: base.Add(time.Duration(i) * time.Minute)})
	}
	pctx, pcancel := context.WithTimeout(context.Background(), 30*time.Second)
	err = prod.ProduceSync(pctx, recs...).FirstErr()
	pcancel()
	prod.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at   time.Time
		want int64
	}{
		{base.Add(4*time.Minute + 30*time.Second), 5},
		{base.Add(7 * time.Minute), 7},
	} {
		s.mustCLI(t, nil, "group", "reset-offsets", "billing", "--topic", "orders:1", "--to-datetime", tc.at.Format(time.RFC3339))
		if c, _ := committedAt(describeGroupJSON(t, s, "billing"), "orders", 1); c != tc.want {
			t.Fatalf("--to-datetime %s committed %d, want %d", tc.at.Format(time.RFC3339), c, tc.want)
		}
	}
	// --all-topics resets what the group committed; a whole topic includes partition 1.
	out := s.mustCLI(t, nil, "group", "reset-offsets", "billing", "--topic", "orders", "--to-earliest", "--dry-run")
	if !strings.Contains(out, "dry run") || strings.Count(out, "orders") != 2 {
		t.Fatalf("dry run over the whole topic:\n%s", out)
	}

	// An active group refuses resets and deletion.
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.kafka), kgo.ConsumerGroup("billing"), kgo.ConsumeTopics("orders"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for describeGroupJSON(t, s, "billing").State != "Stable" {
		pctx, pcancel := context.WithTimeout(ctx, 200*time.Millisecond)
		cl.PollFetches(pctx)
		pcancel()
		if ctx.Err() != nil {
			t.Fatal("consumer never joined")
		}
	}
	if r := s.cli(t, nil, "group", "reset-offsets", "billing", "--all-topics", "--to-earliest"); r.code == 0 || !strings.Contains(r.stderr, "stop its consumers") {
		t.Fatalf("reset of an active group: exit %d, stderr %s", r.code, r.stderr)
	}
	if r := s.cli(t, nil, "group", "delete", "billing"); r.code == 0 || !strings.Contains(r.stderr, "NON_EMPTY_GROUP") {
		t.Fatalf("delete of an active group: exit %d, stderr %s", r.code, r.stderr)
	}
	cl.Close()
	if out := s.mustCLI(t, nil, "group", "delete", "billing"); !strings.Contains(out, `deleted group "billing"`) {
		t.Fatalf("delete: %s", out)
	}
	if r := s.cli(t, nil, "group", "describe", "billing"); r.code == 0 || !strings.Contains(r.stderr, "not found") {
		t.Fatalf("describe after delete: exit %d, stderr %s", r.code, r.stderr)
	}
	// A group that does not exist yet can be given offsets to start from.
	s.mustCLI(t, nil, "group", "reset-offsets", "newcomer", "--topic", "orders", "--to-latest")
	if c, lag := committedAt(describeGroupJSON(t, s, "newcomer"), "orders", 0); c != 10 || lag != 0 {
		t.Fatalf("new group starts at %d (lag %d), want 10", c, lag)
	}
}

func TestCLIGroupUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no action", []string{"group"}, "no action given"},
		{"unknown action", []string{"group", "explode"}, `unknown action "explode"`},
		{"describe without a group", []string{"group", "describe"}, "no group name given"},
		{"reset without a target", []string{"group", "reset-offsets", "g", "--topic", "t"}, "exactly one of"},
		{"reset with two targets", []string{"group", "reset-offsets", "g", "--topic", "t", "--to-earliest", "--to-latest"}, "exactly one of"},
		{"reset without topics", []string{"group", "reset-offsets", "g", "--to-earliest"}, "--topic or --all-topics"},
		{"reset with a bad shift", []string{"group", "reset-offsets", "g", "--all-topics", "--shift-by", "x"}, "want an integer"},
		{"reset with a bad datetime", []string{"group", "reset-offsets", "g", "--all-topics", "--to-datetime", "yesterday"}, "RFC 3339"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := run(context.Background(), tc.args, &cli{
				stdout: &stdout, stderr: &stderr,
				env:  func(string) (string, bool) { return "", false },
				exit: func(int) {},
			})
			if code != 1 || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q, want 1 and %q", code, stderr.String(), tc.want)
			}
		})
	}
}
