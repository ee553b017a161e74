package e2e

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestTxnOffsetCommitChecksGroupMember: TxnOffsetCommit v3+ carries the
// consumer's member id and generation (KIP-447), and the group coordinator
// refuses a commit from a member it does not know or from an old generation,
// so a zombie instance cannot commit offsets in a transaction; the current
// member's commit is applied when the transaction commits.
func TestTxnOffsetCommitChecksGroupMember(t *testing.T) {
	const topic, group, id = "kip447", "kip447-g", "kip447-tx"
	n := startNode(t, nil)
	createTopics(t, n.addr(), 1, topic)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	consumer := newClient(t, n.addr(), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.DisableAutoCommit(), kgo.FetchMaxWait(100*time.Millisecond))
	var member string
	var generation int32
	waitFor(t, 30*time.Second, "the consumer to join its group", func() bool {
		pctx, pcancel := context.WithTimeout(ctx, 100*time.Millisecond)
		consumer.PollFetches(pctx)
		pcancel()
		member, generation = consumer.GroupMetadata()
		return generation > 0
	})

	c := newRawClient(t, n.addr())
	pid, epoch, err := c.initProducerID(ctx, id, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	add := kmsg.NewPtrAddOffsetsToTxnRequest()
	add.TransactionalID, add.ProducerID, add.ProducerEpoch, add.Group = id, pid, epoch, group
	if code := c.request(ctx, add).(*kmsg.AddOffsetsToTxnResponse).ErrorCode; code != 0 {
		t.Fatalf("AddOffsetsToTxn: %v", kerr.ErrorForCode(code))
	}
	commit := func(memberID string, gen int32, offset int64) error {
		t.Helper()
		req := kmsg.NewPtrTxnOffsetCommitRequest()
		req.TransactionalID, req.Group, req.ProducerID, req.ProducerEpoch = id, group, pid, epoch
		req.MemberID, req.Generation = memberID, gen
		rt := kmsg.NewTxnOffsetCommitRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset, rp.LeaderEpoch = 0, offset, -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp := c.request(ctx, req).(*kmsg.TxnOffsetCommitResponse)
		if resp.Version < 3 {
			t.Fatalf("TxnOffsetCommit v%d carries no member", resp.Version)
		}
		return kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode)
	}
	cases := []struct {
		name   string
		member string
		gen    int32
		want   error
	}{
		{"unknown member", "zombie", generation, kerr.UnknownMemberID},
		{"old generation", member, generation - 1, kerr.IllegalGeneration},
		{"future generation", member, generation + 1, kerr.IllegalGeneration},
		{"current member and generation", member, generation, nil},
	}
	for i, tc := range cases {
		if err := commit(tc.member, tc.gen, int64(10+i)); !errors.Is(err, tc.want) && (tc.want != nil || err != nil) {
			t.Fatalf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := c.endTxn(ctx, id, pid, epoch, true); err != nil {
		t.Fatal(err)
	}
	fetch := kmsg.NewPtrOffsetFetchRequest()
	fetch.RequireStable = true
	g := kmsg.NewOffsetFetchRequestGroup()
	g.Group = group
	gt := kmsg.NewOffsetFetchRequestGroupTopic()
	gt.Topic, gt.Partitions = topic, []int32{0}
	g.Topics = append(g.Topics, gt)
	fetch.Groups = append(fetch.Groups, g)
	waitFor(t, 10*time.Second, "the committed transactional offset", func() bool {
		p := c.request(ctx, fetch).(*kmsg.OffsetFetchResponse).Groups[0].Topics[0].Partitions[0]
		return p.ErrorCode == 0 && p.Offset == 13
	})
}
