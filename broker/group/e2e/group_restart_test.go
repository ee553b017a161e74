package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// firstOffsets polls a new consumer of groupID until it has a record from every
// partition and returns the first offset it got per partition.
func firstOffsets(t *testing.T, addr, groupID, topic string, reset kgo.Offset, partitions int) map[int32]int64 {
	t.Helper()
	cl := newClient(t, addr, kgo.ConsumerGroup(groupID), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(reset),
		kgo.DisableAutoCommit(), kgo.FetchMaxWait(200*time.Millisecond))
	defer cl.Close()
	first := map[int32]int64{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for len(first) < partitions {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("group %s: got first offsets %v before timing out", groupID, first)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if _, ok := first[r.Partition]; !ok {
				first[r.Partition] = r.Offset
			}
		})
	}
	return first
}

// TestCommittedOffsetsSurviveRestart: offsets a consumer committed (and offsets
// committed with metadata by an admin) are there after a broker restart, and one
// removed with OffsetDelete stays removed; a new
// consumer of the group resumes exactly at them, and auto.offset.reset applies
// only to groups without a commit.
func TestCommittedOffsetsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	b, addr := startBroker(t, dir)
	const topic, partitions, perPartition = "resume", 3, 30
	createTopic(t, addr, topic, partitions)
	prod := newClient(t, addr, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	produce(t, prod, topic, "r", partitions*perPartition)

	// A consumer processes the first 10 records of each partition and commits them.
	cl := newClient(t, addr, kgo.ConsumerGroup("resume-g"), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	toCommit := map[int32]*kgo.Record{}
	for len(toCommit) < partitions {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal("timed out consuming")
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset == 9 {
				toCommit[r.Partition] = r
			}
		})
	}
	for _, r := range toCommit {
		if err := cl.CommitRecords(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	cl.Close()
	adm := kadm.NewClient(prod)
	var admin kadm.Offsets
	admin.Add(kadm.Offset{Topic: topic, Partition: 1, At: 17, LeaderEpoch: -1, Metadata: "checkpoint-17"})
	admin.Add(kadm.Offset{Topic: topic, Partition: 2, At: 5, LeaderEpoch: -1, Metadata: "dropped"})
	if resp, err := adm.CommitOffsets(ctx, "admin-g", admin); err != nil || resp.Error() != nil {
		t.Fatalf("admin commit: %v %v", err, resp.Error())
	}
	// OffsetDelete removes one partition's offset of the (empty) group, for good.
	deleted, err := adm.DeleteOffsets(ctx, "admin-g", kadm.TopicsSet{topic: {2: {}}})
	if err != nil {
		t.Fatal(err)
	}
	if perr, ok := deleted.Lookup(topic, 2); !ok || perr != nil {
		t.Fatalf("OffsetDelete of partition 2: %v (answered %v)", perr, ok)
	}

	stopBroker(t, b)
	_, addr = startBroker(t, dir)

	adm = kadm.NewClient(newClient(t, addr))
	fetched, err := adm.FetchOffsets(ctx, "admin-g")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := fetched.Lookup(topic, 1); !ok || o.At != 17 || o.Metadata != "checkpoint-17" {
		t.Fatalf("admin commit after restart: %+v", o)
	}
	if o, ok := fetched.Lookup(topic, 2); ok && o.At >= 0 {
		t.Fatalf("offset deleted before the restart is back: %+v", o)
	}
	tests := []struct {
		group string
		reset kgo.Offset
		want  int64
	}{
		{"resume-g", kgo.NewOffset().AtEnd(), 10},   // committed: reset ignored
		{"resume-g", kgo.NewOffset().AtStart(), 10}, // still the commit (nothing new committed)
		{"fresh-earliest", kgo.NewOffset().AtStart(), 0},
	}
	for _, tc := range tests {
		got := firstOffsets(t, addr, tc.group, topic, tc.reset, partitions)
		for p, o := range got {
			if o != tc.want {
				t.Fatalf("group %s starts partition %d at %d, want %d", tc.group, p, o, tc.want)
			}
		}
	}
	// auto.offset.reset=latest: a new group sees only what is produced after it joined.
	latest := newClient(t, addr, kgo.ConsumerGroup("fresh-latest"), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()), kgo.FetchMaxWait(200*time.Millisecond))
	waitFor(t, 30*time.Second, "the latest consumer to be assigned", func() bool {
		d, err := adm.DescribeGroups(ctx, "fresh-latest")
		return err == nil && d["fresh-latest"].State == "Stable"
	})
	// Poll once so the consumer has listed the end offsets before more arrive.
	pollCtx, pollCancel := context.WithTimeout(ctx, time.Second)
	latest.PollFetches(pollCtx)
	pollCancel()
	prod2 := newClient(t, addr, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	produce(t, prod2, topic, "late", partitions)
	seen := 0
	for seen < partitions {
		fs := latest.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal("timed out waiting for the late records")
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset != perPartition {
				t.Fatalf("latest consumer got offset %d of partition %d, want %d", r.Offset, r.Partition, perPartition)
			}
			seen++
		})
	}
}
