package e2e

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker"
)

// shortProducerExpiry makes partitions forget idle producers within a second
// (producer.id.expiration.ms), checked on every append.
func shortProducerExpiry(cfg *broker.Config) {
	cfg.Txn.State.ProducerIDExpiration = 300 * time.Millisecond
	cfg.Txn.State.ExpirationCheckInterval = time.Millisecond
}

// forget waits until topic/0 no longer holds producer pid: expiry runs on
// appends, so an unrelated non-idempotent client keeps appending meanwhile.
func forget(t *testing.T, ctx context.Context, addr, topic string, pid int64) {
	t.Helper()
	other := newClient(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.DisableIdempotentWrite())
	adm := kadm.NewClient(newClient(t, addr))
	waitFor(t, 30*time.Second, fmt.Sprintf("partition %s/0 to forget producer %d", topic, pid), func() bool {
		if err := other.ProduceSync(ctx, rec(topic, 0, "other")).FirstErr(); err != nil {
			t.Fatalf("unrelated append: %v", err)
		}
		prods, err := adm.DescribeProducers(ctx, kadm.TopicsSet{topic: {0: {}}})
		if err != nil {
			return false
		}
		known := false
		prods.EachProducer(func(d kadm.DescribedProducer) { known = known || d.ProducerID == pid })
		return !known
	})
}

// ownValues returns the values of topic/0 that start with prefix, in log order.
func ownValues(t *testing.T, addr, topic, prefix string, committed bool) []string {
	t.Helper()
	var out []string
	for _, r := range readAll(t, addr, topic, committed) {
		if v := string(r.Value); len(v) >= len(prefix) && v[:len(prefix)] == prefix {
			out = append(out, v)
		}
	}
	return out
}

func numbered(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s%03d", prefix, i))
	}
	return out
}

// TestForgottenIdempotentProducerCarriesOn: a partition forgets an idle
// idempotent producer (producer.id.expiration.ms); the producer's next batch,
// which goes on with its sequence, is accepted as Kafka accepts it, and every
// record is in the log once, in order. Then the producer's own epoch bump
// (KIP-360: an idempotent producer bumps its epoch itself and restarts its
// sequences) is accepted at sequence 0 only, and its old epoch is refused.
func TestForgottenIdempotentProducerCarriesOn(t *testing.T) {
	const topic = "forgotten"
	n := startNode(t, shortProducerExpiry)
	createTopics(t, n.addr(), 1, topic)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	prod := newClient(t, n.addr(), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	produceValues := func(vs []string) {
		t.Helper()
		for _, v := range vs { // one batch each: sequences advance per record
			if err := prod.ProduceSync(ctx, rec(topic, 0, v)).FirstErr(); err != nil {
				t.Fatalf("produce %s: %v", v, err)
			}
		}
	}
	produceValues(numbered("idem-", 0, 10))
	pid, epoch, err := prod.ProducerID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	forget(t, ctx, n.addr(), topic, pid)
	produceValues(numbered("idem-", 10, 20))
	if p2, e2, err := prod.ProducerID(ctx); err != nil || p2 != pid || e2 != epoch {
		t.Fatalf("producer %d/%d (%v) after the partition forgot it, want %d/%d unchanged", p2, e2, err, pid, epoch)
	}
	if got, want := ownValues(t, n.addr(), topic, "idem-", false), numbered("idem-", 0, 20); !slices.Equal(got, want) {
		t.Fatalf("log holds\n%v\nwant\n%v", got, want)
	}

	// A client-side epoch bump by another idempotent producer id.
	raw := newRawClient(t, n.addr())
	init := kmsg.NewPtrInitProducerIDRequest()
	resp := raw.request(ctx, init).(*kmsg.InitProducerIDResponse)
	if resp.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(resp.ErrorCode))
	}
	bp := resp.ProducerID
	steps := []struct {
		epoch int16
		seq   int32
		want  error
	}{
		{0, 0, nil},
		{0, 1, nil},
		{1, 3, kerr.OutOfOrderSequenceNumber}, // a new epoch restarts at 0
		{1, 0, nil},
		{0, 2, kerr.InvalidProducerEpoch}, // the old epoch is over
		{1, 1, nil},
	}
	for i, st := range steps {
		if err := raw.produce(ctx, topic, "", bp, st.epoch, st.seq, fmt.Sprintf("bump-%d", i)); !errors.Is(err, st.want) && (st.want != nil || err != nil) {
			t.Fatalf("step %d (epoch %d, sequence %d): %v, want %v", i, st.epoch, st.seq, err, st.want)
		}
	}
	if got, want := ownValues(t, n.addr(), topic, "bump-", false), []string{"bump-0", "bump-1", "bump-3", "bump-5"}; !slices.Equal(got, want) {
		t.Fatalf("epoch bump: log holds %v, want %v", got, want)
	}
}

// TestForgottenTransactionalProducerCarriesOn: a transactional producer
// (franz-go) whose state a partition forgot between two transactions goes on
// with its next transaction, which commits; read_committed sees both.
// (A broker answering UNKNOWN_PRODUCER_ID here, as Kafka before 2.8 did, makes
// franz-go abort and re-initialize while the transaction is open, which the
// coordinator fences.)
func TestForgottenTransactionalProducerCarriesOn(t *testing.T) {
	const topic = "forgotten-tx"
	n := startNode(t, shortProducerExpiry)
	createTopics(t, n.addr(), 1, topic)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	prod := txnProducer(t, n.addr(), "forgotten-tx")
	var first []*kgo.Record
	for _, v := range numbered("tx-", 0, 3) {
		first = append(first, rec(topic, 0, v))
	}
	transact(t, prod, true, first...)
	pid, epoch, err := prod.ProducerID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	forget(t, ctx, n.addr(), topic, pid)
	transact(t, prod, true, rec(topic, 0, "tx-003"), rec(topic, 0, "tx-004"))
	if p2, e2, err := prod.ProducerID(ctx); err != nil || p2 != pid || e2 != epoch {
		t.Fatalf("producer %d/%d (%v) after the partition forgot it, want %d/%d unchanged", p2, e2, err, pid, epoch)
	}
	if got, want := ownValues(t, n.addr(), topic, "tx-", true), numbered("tx-", 0, 5); !slices.Equal(got, want) {
		t.Fatalf("read_committed\n%v\nwant\n%v", got, want)
	}
}

// TestTransactionalEpochBump follows the Java client's KIP-360 recovery from an
// abortable error: it aborts the transaction, then calls InitProducerId with
// its current id and epoch, which bumps the epoch instead of fencing it; a
// retry of that call (its answer lost) gets the same epoch, an older epoch is a
// zombie and is fenced, and the next transaction, with sequences from 0,
// commits. read_committed sees the committed records only.
func TestTransactionalEpochBump(t *testing.T) {
	const topic, id = "bump-tx", "bump-tx"
	n := startNode(t, nil)
	createTopics(t, n.addr(), 1, topic)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := newRawClient(t, n.addr())
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	_, _, err := c.initProducerID(ctx, id, -1, -1)
	must("InitProducerId", err)
	pid, epoch, err := c.initProducerID(ctx, id, -1, -1) // a second instance: epoch 1
	must("InitProducerId", err)
	must("AddPartitionsToTxn", c.addPartition(ctx, id, topic, pid, epoch))
	for seq := range int32(3) {
		must("produce", c.produce(ctx, topic, id, pid, epoch, seq, fmt.Sprintf("tx-%03d", seq)))
	}
	must("commit", c.endTxn(ctx, id, pid, epoch, true))

	must("AddPartitionsToTxn", c.addPartition(ctx, id, topic, pid, epoch))
	must("produce", c.produce(ctx, topic, id, pid, epoch, 3, "lost-000"))
	must("abort", c.endTxn(ctx, id, pid, epoch, false)) // after an abortable error
	pid2, epoch2, err := c.initProducerID(ctx, id, pid, epoch)
	must("KIP-360 InitProducerId", err)
	if pid2 != pid || epoch2 != epoch+1 {
		t.Fatalf("after recovery producer %d epoch %d, want %d epoch %d", pid2, epoch2, pid, epoch+1)
	}
	if p, e, err := c.initProducerID(ctx, id, pid, epoch); err != nil || p != pid2 || e != epoch2 {
		t.Fatalf("retried recovery: %d/%d %v, want %d/%d", p, e, err, pid2, epoch2)
	}
	if _, _, err := c.initProducerID(ctx, id, pid, epoch-1); !errors.Is(err, kerr.ProducerFenced) {
		t.Fatalf("recovery from an older epoch: %v, want PRODUCER_FENCED", err)
	}
	must("AddPartitionsToTxn", c.addPartition(ctx, id, topic, pid2, epoch2))
	if err := c.produce(ctx, topic, id, pid2, epoch2, 4, "lost-001"); !errors.Is(err, kerr.OutOfOrderSequenceNumber) {
		t.Fatalf("new epoch going on with the old sequence: %v, want OUT_OF_ORDER_SEQUENCE_NUMBER", err)
	}
	must("produce after recovery", c.produce(ctx, topic, id, pid2, epoch2, 0, "tx-003"))
	if err := c.produce(ctx, topic, id, pid, epoch, 4, "lost-002"); !errors.Is(err, kerr.InvalidProducerEpoch) {
		t.Fatalf("write at the epoch before the bump: %v, want INVALID_PRODUCER_EPOCH", err)
	}
	must("commit after recovery", c.endTxn(ctx, id, pid2, epoch2, true))

	if got, want := ownValues(t, n.addr(), topic, "tx-", true), numbered("tx-", 0, 4); !slices.Equal(got, want) {
		t.Fatalf("read_committed\n%v\nwant\n%v", got, want)
	}
	if got := ownValues(t, n.addr(), topic, "lost-", false); !slices.Equal(got, []string{"lost-000"}) {
		t.Fatalf("read_uncommitted has %v of the refused and aborted writes, want only the aborted lost-000", got)
	}
}

// TestProducerIDsNeverRepeatAcrossRestarts: producer ids come from blocks
// reserved in the metadata, so ids handed out after a restart are all new.
func TestProducerIDsNeverRepeatAcrossRestarts(t *testing.T) {
	n := startNode(t, nil)
	seen := map[int64]int{}
	for round := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cl := newClient(t, n.addr())
		for range 5 {
			resp, err := kmsg.NewPtrInitProducerIDRequest().RequestWith(ctx, cl)
			if err != nil || resp.ErrorCode != 0 {
				cancel()
				t.Fatalf("InitProducerId: %v %v", err, kerr.ErrorForCode(resp.ErrorCode))
			}
			if prev, ok := seen[resp.ProducerID]; ok {
				cancel()
				t.Fatalf("producer id %d handed out again in round %d (first in round %d)", resp.ProducerID, round, prev)
			}
			seen[resp.ProducerID] = round
		}
		cancel()
		cl.Close()
		n.restart()
	}
	if len(seen) != 15 {
		t.Fatalf("%d distinct ids, want 15", len(seen))
	}
}
