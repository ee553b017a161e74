package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kversion"
)

// TestProtocolVersions runs a whole group life (join, sync, heartbeat, commit,
// fetch offsets, describe, list, leave, delete) with clients pinned to the API
// versions of several Kafka releases, so old and flexible encodings of every
// group API are exercised.
func TestProtocolVersions(t *testing.T) {
	_, addr := startBroker(t, t.TempDir())
	const topic, partitions, perPartition = "versions", 2, 10
	createTopic(t, addr, topic, partitions)
	produce(t, newClient(t, addr, kgo.RecordPartitioner(kgo.RoundRobinPartitioner())), topic, "v", partitions*perPartition)

	releases := []struct {
		name string
		v    *kversion.Versions
	}{
		{"1.0", kversion.V1_0_0()},
		{"2.0", kversion.V2_0_0()},
		{"2.3", kversion.V2_3_0()},
		{"2.4", kversion.V2_4_0()},
		{"3.0", kversion.V3_0_0()},
		{"latest", kversion.Stable()},
	}
	for _, rel := range releases {
		t.Run(rel.name, func(t *testing.T) {
			groupID := "versions-" + rel.name
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cl := newClient(t, addr, kgo.MaxVersions(rel.v), kgo.ConsumerGroup(groupID), kgo.ConsumeTopics(topic),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(),
				kgo.FetchMaxWait(200*time.Millisecond))
			got := 0
			for got < partitions*perPartition {
				fs := cl.PollFetches(ctx)
				if ctx.Err() != nil {
					t.Fatalf("consumed %d records before timing out", got)
				}
				fs.EachError(func(_ string, _ int32, err error) { t.Logf("fetch: %v", err) })
				got += fs.NumRecords()
			}
			if err := cl.CommitUncommittedOffsets(ctx); err != nil {
				t.Fatalf("commit: %v", err)
			}
			adm := kadm.NewClient(newClient(t, addr, kgo.MaxVersions(rel.v)))
			offs, err := adm.FetchOffsets(ctx, groupID)
			if err != nil {
				t.Fatal(err)
			}
			for p := range int32(partitions) {
				if o, ok := offs.Lookup(topic, p); !ok || o.Err != nil || o.At != perPartition {
					t.Fatalf("committed offset of partition %d: %+v", p, o)
				}
			}
			desc, err := adm.DescribeGroups(ctx, groupID)
			if err != nil {
				t.Fatal(err)
			}
			if d := desc[groupID]; d.State != "Stable" || len(d.Members) != 1 || d.ProtocolType != "consumer" {
				t.Fatalf("describe: state %s, %d members, type %q", d.State, len(d.Members), d.ProtocolType)
			}
			listed, err := adm.ListGroups(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := listed[groupID]; !ok {
				t.Fatalf("group missing from ListGroups: %v", listed.Groups())
			}
			cl.Close() // LeaveGroup
			waitFor(t, 10*time.Second, "the group to be empty", func() bool {
				d, err := adm.DescribeGroups(ctx, groupID)
				return err == nil && d[groupID].State == "Empty"
			})
			if _, ok := rel.v.LookupMaxKeyVersion(42); !ok {
				return // DeleteGroups came with Kafka 1.1
			}
			resp, err := adm.DeleteGroups(ctx, groupID)
			if err == nil {
				err = resp.Error()
			}
			if err != nil {
				t.Fatalf("delete group: %v", err)
			}
			offs, err = adm.FetchOffsets(ctx, groupID)
			if err != nil {
				t.Fatal(err)
			}
			if len(offs) != 0 {
				t.Fatalf("offsets after delete: %v", offs)
			}
		})
	}
}
