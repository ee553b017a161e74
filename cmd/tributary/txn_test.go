package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestCLITxn lists and describes transactions against a real server: one
// transactional id with an open transaction, one whose transaction committed.
func TestCLITxn(t *testing.T) {
	s := startServer(t, t.TempDir())
	s.mustCLI(t, nil, "topic", "create", "payments", "--partitions", "2")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	producer := func(id string) *kgo.Client {
		cl, err := kgo.NewClient(kgo.SeedBrokers(s.kafka), kgo.TransactionalID(id), kgo.RecordPartitioner(kgo.ManualPartitioner()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		return cl
	}
	done := producer("settled")
	if err := done.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := done.ProduceSync(ctx, &kgo.Record{Topic: "payments", Partition: 0, Value: []byte("a")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := done.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	open := producer("pending")
	if err := open.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := open.ProduceSync(ctx,
		&kgo.Record{Topic: "payments", Partition: 0, Value: []byte("b")},
		&kgo.Record{Topic: "payments", Partition: 1, Value: []byte("c")}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	var list []txnSummary
	if err := json.Unmarshal([]byte(s.mustCLI(t, nil, "txn", "list", "--output", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].TransactionalID != "pending" || list[0].State != "Ongoing" ||
		list[1].TransactionalID != "settled" || list[1].State != "CompleteCommit" {
		t.Fatalf("txn list: %+v", list)
	}
	filters := []struct {
		args []string
		want string
	}{
		{[]string{"--state", "Ongoing"}, "pending"},
		{[]string{"--state", "CompleteCommit"}, "settled"},
		{[]string{"--pattern", "^sett"}, "settled"},
		{[]string{"--producer-id", itoa(list[0].ProducerID)}, "pending"},
	}
	for _, f := range filters {
		var got []txnSummary
		out := s.mustCLI(t, nil, append([]string{"txn", "list", "--output", "json"}, f.args...)...)
		if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 1 || got[0].TransactionalID != f.want {
			t.Fatalf("txn list %v: %v %+v, want only %s", f.args, err, got, f.want)
		}
	}

	var desc []txnDescription
	if err := json.Unmarshal([]byte(s.mustCLI(t, nil, "txn", "describe", "pending", "--output", "json")), &desc); err != nil {
		t.Fatal(err)
	}
	if len(desc) != 1 || desc[0].State != "Ongoing" || len(desc[0].Partitions) != 2 || desc[0].Started == "" ||
		desc[0].Partitions[0].StartOffset != 2 || desc[0].Partitions[1].StartOffset != 0 {
		t.Fatalf("txn describe: %+v", desc)
	}
	table := s.mustCLI(t, nil, "txn", "describe", "pending")
	if !strings.Contains(table, "state Ongoing") || !strings.Contains(table, "TXN-START-OFFSET") {
		t.Fatalf("describe table:\n%s", table)
	}
	r := s.cli(t, nil, "txn", "describe", "nobody")
	if r.code != 1 || !strings.Contains(r.stderr, `"nobody": not found`) {
		t.Fatalf("describe of an unknown id: exit %d, stderr %q", r.code, r.stderr)
	}
	if err := open.EndTransaction(ctx, kgo.TryAbort); err != nil {
		t.Fatal(err)
	}
	if out := s.mustCLI(t, nil, "txn", "list", "--state", "Ongoing"); strings.Contains(out, "pending") {
		t.Fatalf("aborted transaction still listed as Ongoing:\n%s", out)
	}
}
