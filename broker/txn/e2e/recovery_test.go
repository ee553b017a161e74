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
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/tributary-io/tributary/broker"
	"github.com/tributary-io/tributary/broker/record"
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

// TestIdempotentProducerRecoversForgottenID: once a partition has forgotten an
// idle idempotent producer (producer.id.expiration.ms), a batch of it that does
// not start a sequence is answered UNKNOWN_PRODUCER_ID; franz-go then recovers
// as KIP-360 allows an idempotent producer (a new epoch, sequences from 0), and
// every record is in the log once, in order.
func TestIdempotentProducerRecoversForgottenID(t *testing.T) {
	const topic = "forgotten"
	n := startNode(t, shortProducerExpiry)
	createTopics(t, n.addr(), 1, topic)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The client refreshes metadata before resending a refused batch; let it
	// do so at once rather than after the default 5s minimum age.
	prod := newClient(t, n.addr(), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.MetadataMinAge(50*time.Millisecond))
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

	raw := newRawClient(t, n.addr())
	if err := raw.produce(ctx, topic, "", pid, epoch, 10, "probe"); !errors.Is(err, kerr.UnknownProducerID) {
		t.Fatalf("a forgotten producer's batch at sequence 10: %v, want UNKNOWN_PRODUCER_ID", err)
	}
	produceValues(numbered("idem-", 10, 20))
	pid2, epoch2, err := prod.ProducerID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if pid2 == pid && epoch2 == epoch {
		t.Fatalf("the producer kept id %d epoch %d after UNKNOWN_PRODUCER_ID", pid, epoch)
	}
	if got, want := ownValues(t, n.addr(), topic, "idem-", false), numbered("idem-", 0, 20); !slices.Equal(got, want) {
		t.Fatalf("log holds\n%v\nwant\n%v", got, want)
	}
	t.Logf("producer %d/%d recovered as %d/%d", pid, epoch, pid2, epoch2)
}

// rawClient sends single transaction requests, so a test can follow the Java
// client's recovery sequence exactly.
type rawClient struct {
	t  *testing.T
	cl *kgo.Client
}

func newRawClient(t *testing.T, addr string) *rawClient {
	v := kversion.Stable()
	v.SetMaxKeyVersion(0, 12) // Produce: name the topic, not its id
	v.SetMaxKeyVersion(24, 3) // AddPartitionsToTxn: the client form (v4+ is broker-to-broker)
	v.SetMaxKeyVersion(26, 4) // EndTxn: transaction version 1
	return &rawClient{t: t, cl: newClient(t, addr, kgo.MaxVersions(v))}
}

func (c *rawClient) request(ctx context.Context, req kmsg.Request) kmsg.Response {
	c.t.Helper()
	resp, err := c.cl.Request(ctx, req)
	if err != nil {
		c.t.Fatalf("%s: %v", kmsg.NameForKey(req.Key()), err)
	}
	return resp
}

// produce writes one record at sequence seq for producer pid/epoch to topic/0
// (transactional when txnID is set) and returns the partition's error.
func (c *rawClient) produce(ctx context.Context, topic, txnID string, pid int64, epoch int16, seq int32, value string) error {
	c.t.Helper()
	var attrs int16
	req := kmsg.NewPtrProduceRequest()
	if txnID != "" {
		attrs = record.AttrTransactional
		req.TransactionID = &txnID
	}
	batch, err := record.Build(record.BatchSpec{
		Attributes:    attrs,
		BaseTimestamp: time.Now().UnixMilli(),
		ProducerID:    pid,
		ProducerEpoch: epoch,
		BaseSequence:  seq,
	}, []record.Record{{Value: []byte(value)}})
	if err != nil {
		c.t.Fatal(err)
	}
	req.Acks, req.TimeoutMillis = -1, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return kerr.ErrorForCode(c.request(ctx, req).(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode)
}

func (c *rawClient) initProducerID(ctx context.Context, txnID string, pid int64, epoch int16) (int64, int16, error) {
	c.t.Helper()
	req := kmsg.NewPtrInitProducerIDRequest()
	req.TransactionalID, req.TransactionTimeoutMillis = &txnID, 60_000
	req.ProducerID, req.ProducerEpoch = pid, epoch
	resp := c.request(ctx, req).(*kmsg.InitProducerIDResponse)
	return resp.ProducerID, resp.ProducerEpoch, kerr.ErrorForCode(resp.ErrorCode)
}

func (c *rawClient) addPartition(ctx context.Context, txnID, topic string, pid int64, epoch int16) error {
	c.t.Helper()
	req := kmsg.NewPtrAddPartitionsToTxnRequest()
	req.TransactionalID, req.ProducerID, req.ProducerEpoch = txnID, pid, epoch
	rt := kmsg.NewAddPartitionsToTxnRequestTopic()
	rt.Topic, rt.Partitions = topic, []int32{0}
	req.Topics = append(req.Topics, rt)
	resp := c.request(ctx, req).(*kmsg.AddPartitionsToTxnResponse)
	return kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode)
}

func (c *rawClient) endTxn(ctx context.Context, txnID string, pid int64, epoch int16, commit bool) error {
	c.t.Helper()
	req := kmsg.NewPtrEndTxnRequest()
	req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit = txnID, pid, epoch, commit
	// The markers of the previous end may still be in flight.
	for {
		err := kerr.ErrorForCode(c.request(ctx, req).(*kmsg.EndTxnResponse).ErrorCode)
		if !errors.Is(err, kerr.ConcurrentTransactions) || ctx.Err() != nil {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTransactionalProducerRecoversForgottenID follows the Java client's
// KIP-360 recovery: a transactional producer whose state a partition forgot
// between two transactions gets UNKNOWN_PRODUCER_ID on its next write, aborts
// the transaction, and calls InitProducerId with its current id and epoch,
// which bumps the epoch (not a fence); its next transaction, with sequences
// from 0, commits. read_committed sees the committed records only. An
// InitProducerId with an epoch that is neither the current nor the previous
// one is fenced.
func TestTransactionalProducerRecoversForgottenID(t *testing.T) {
	const topic, id = "forgotten-tx", "forgotten-tx"
	n := startNode(t, shortProducerExpiry)
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
	forget(t, ctx, n.addr(), topic, pid)

	must("AddPartitionsToTxn", c.addPartition(ctx, id, topic, pid, epoch))
	if err := c.produce(ctx, topic, id, pid, epoch, 3, "lost-000"); !errors.Is(err, kerr.UnknownProducerID) {
		t.Fatalf("write after the partition forgot the producer: %v, want UNKNOWN_PRODUCER_ID", err)
	}
	must("abort", c.endTxn(ctx, id, pid, epoch, false))
	pid2, epoch2, err := c.initProducerID(ctx, id, pid, epoch)
	must("KIP-360 InitProducerId", err)
	if pid2 != pid || epoch2 != epoch+1 {
		t.Fatalf("after recovery producer %d epoch %d, want %d epoch %d", pid2, epoch2, pid, epoch+1)
	}
	// A retry of the same call (its answer lost) gets the same epoch again;
	// an older epoch is a zombie.
	if p, e, err := c.initProducerID(ctx, id, pid, epoch); err != nil || p != pid2 || e != epoch2 {
		t.Fatalf("retried recovery: %d/%d %v, want %d/%d", p, e, err, pid2, epoch2)
	}
	if _, _, err := c.initProducerID(ctx, id, pid, epoch-1); !errors.Is(err, kerr.ProducerFenced) {
		t.Fatalf("recovery from an older epoch: %v, want PRODUCER_FENCED", err)
	}
	must("AddPartitionsToTxn", c.addPartition(ctx, id, topic, pid2, epoch2))
	must("produce after recovery", c.produce(ctx, topic, id, pid2, epoch2, 0, "tx-003"))
	must("commit after recovery", c.endTxn(ctx, id, pid2, epoch2, true))

	if got, want := ownValues(t, n.addr(), topic, "tx-", true), numbered("tx-", 0, 4); !slices.Equal(got, want) {
		t.Fatalf("read_committed\n%v\nwant\n%v", got, want)
	}
	if got := ownValues(t, n.addr(), topic, "lost-", false); len(got) != 0 {
		t.Fatalf("the refused write is in the log: %v", got)
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
