package e2e

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// txnProducer returns a transactional producer writing to explicit partitions.
func txnProducer(t *testing.T, addr, id string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	return newClient(t, addr, append([]kgo.Opt{
		kgo.TransactionalID(id),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
	}, opts...)...)
}

// transact runs one transaction writing values to topic/partition pairs, then
// commits or aborts it.
func transact(t *testing.T, cl *kgo.Client, commit bool, recs ...*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce in transaction: %v", err)
	}
	if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
		t.Fatalf("end transaction (commit=%v): %v", commit, err)
	}
}

func rec(topic string, partition int32, value string) *kgo.Record {
	return &kgo.Record{Topic: topic, Partition: partition, Value: []byte(value)}
}

// values lists record values, sorted.
func values(rs []*kgo.Record) []string {
	var out []string
	for _, r := range rs {
		out = append(out, string(r.Value))
	}
	sort.Strings(out)
	return out
}

func batchOf(topic, prefix string, n int, partitions int32) []*kgo.Record {
	var out []*kgo.Record
	for i := range n {
		out = append(out, rec(topic, int32(i)%partitions, fmt.Sprintf("%s-%02d", prefix, i)))
	}
	return out
}

func sortedValues(rs ...[]*kgo.Record) []string {
	var all []*kgo.Record
	for _, r := range rs {
		all = append(all, r...)
	}
	return values(all)
}

// TestReadCommittedAndUncommitted: committed transactions are visible to
// read_committed consumers, aborted ones never are, read_uncommitted sees both;
// an open transaction holds the last stable offset back; the admin APIs show
// the producer and the transaction.
func TestReadCommittedAndUncommitted(t *testing.T) {
	const topic = "basic"
	n := startNode(t, nil)
	createTopics(t, n.addr(), 2, topic)
	prod := txnProducer(t, n.addr(), "basic-tx")

	c1 := batchOf(topic, "commit1", 10, 2)
	a1 := batchOf(topic, "abort1", 10, 2)
	c2 := batchOf(topic, "commit2", 10, 2)
	transact(t, prod, true, c1...)
	transact(t, prod, false, a1...)
	transact(t, prod, true, c2...)

	// An open transaction: its records are in the log, above the LSO.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := prod.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	open := batchOf(topic, "open", 4, 2)
	if err := prod.ProduceSync(ctx, open...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(newClient(t, n.addr()))
	hw, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	lso, err := adm.ListCommittedOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	for p := range int32(2) {
		h, _ := hw.Lookup(topic, p)
		l, _ := lso.Lookup(topic, p)
		// Per partition: 5+5+5 data records and 3 markers, then 2 open records.
		if h.Offset != 20 || l.Offset != 18 {
			t.Fatalf("partition %d: high watermark %d, last stable offset %d; want 20 and 18", p, h.Offset, l.Offset)
		}
	}
	if got, want := values(readAll(t, n.addr(), topic, false)), sortedValues(c1, a1, c2, open); !slices.Equal(got, want) {
		t.Fatalf("read_uncommitted during the open transaction:\n%v\nwant\n%v", got, want)
	}

	// Operators see the producer and its open transaction.
	prods, err := adm.DescribeProducers(ctx, kadm.TopicsSet{topic: {0: {}, 1: {}}})
	if err != nil {
		t.Fatal(err)
	}
	var starts []int64
	prods.EachProducer(func(d kadm.DescribedProducer) { starts = append(starts, d.CurrentTxnStartOffset) })
	if slices.Sort(starts); !slices.Equal(starts, []int64{18, 18}) {
		t.Fatalf("open transaction start offsets %v, want [18 18]", starts)
	}
	desc, err := adm.DescribeTransactions(ctx, "basic-tx")
	if err != nil {
		t.Fatal(err)
	}
	if d := desc["basic-tx"]; d.Err != nil || d.State != "Ongoing" || len(d.Topics[topic]) != 2 {
		t.Fatalf("describe: %+v", d)
	}
	listed, err := adm.ListTransactions(ctx, nil, []string{"Ongoing"})
	if err != nil {
		t.Fatal(err)
	}
	if ids := listed.TransactionalIDs(); !slices.Equal(ids, []string{"basic-tx"}) {
		t.Fatalf("ongoing transactions %v", ids)
	}

	if err := prod.EndTransaction(ctx, kgo.TryAbort); err != nil {
		t.Fatal(err)
	}
	if got, want := values(readAll(t, n.addr(), topic, true)), sortedValues(c1, c2); !slices.Equal(got, want) {
		t.Fatalf("read_committed:\n%v\nwant\n%v", got, want)
	}
	if got, want := values(readAll(t, n.addr(), topic, false)), sortedValues(c1, a1, c2, open); !slices.Equal(got, want) {
		t.Fatalf("read_uncommitted:\n%v\nwant\n%v", got, want)
	}

	// The aborted index and the producer state come back after a restart.
	n.restart()
	if got, want := values(readAll(t, n.addr(), topic, true)), sortedValues(c1, c2); !slices.Equal(got, want) {
		t.Fatalf("read_committed after restart:\n%v\nwant\n%v", got, want)
	}
}

// TestTransactionSpansThreeTopics: one transaction over three topics is visible
// in all of them or in none.
func TestTransactionSpansThreeTopics(t *testing.T) {
	topics := []string{"tx-x", "tx-y", "tx-z"}
	n := startNode(t, nil)
	createTopics(t, n.addr(), 1, topics...)
	prod := txnProducer(t, n.addr(), "three")
	for round, commit := range []bool{true, false, true, false} {
		var recs []*kgo.Record
		for _, topic := range topics {
			recs = append(recs, rec(topic, 0, fmt.Sprintf("round-%d-%v", round, commit)))
		}
		transact(t, prod, commit, recs...)
	}
	for _, topic := range topics {
		if got, want := values(readAll(t, n.addr(), topic, true)), []string{"round-0-true", "round-2-true"}; !slices.Equal(got, want) {
			t.Fatalf("%s read_committed %v, want %v", topic, got, want)
		}
		if got := readAll(t, n.addr(), topic, false); len(got) != 4 {
			t.Fatalf("%s read_uncommitted holds %d records, want 4", topic, len(got))
		}
	}
}

// TestBrokerRestartMidTransaction restarts the broker after a transaction added
// two of its three topics and before EndTxn. Either the producer goes on and
// commits all three, or the transaction times out while the broker is down and
// is aborted on restart: then the producer's commit fails with a clear fencing
// error and nothing of it is visible to read_committed consumers.
func TestBrokerRestartMidTransaction(t *testing.T) {
	topics := []string{"mid-x", "mid-y", "mid-z"}
	cases := []struct {
		name    string
		timeout time.Duration
		// down is how long the broker stays stopped.
		down       time.Duration
		wantCommit bool
	}{
		{"commits after the restart", 30 * time.Second, 0, true},
		{"aborted after timing out", 1500 * time.Millisecond, 1500 * time.Millisecond, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := startNode(t, nil)
			createTopics(t, n.addr(), 1, topics...)
			prod := txnProducer(t, n.addr(), "mid", kgo.TransactionTimeout(tc.timeout))
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := prod.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			if err := prod.ProduceSync(ctx, rec(topics[0], 0, "x"), rec(topics[1], 0, "y")).FirstErr(); err != nil {
				t.Fatal(err)
			}
			n.stop()
			if tc.down > 0 {
				time.Sleep(tc.down) // the transaction's timeout runs out while no broker is up
			}
			n.start()
			adm := kadm.NewClient(newClient(t, n.addr()))
			if !tc.wantCommit {
				waitFor(t, 30*time.Second, "the coordinator to abort the timed-out transaction", func() bool {
					d, err := adm.DescribeTransactions(ctx, "mid")
					return err == nil && d["mid"].State == "CompleteAbort"
				})
			}
			err := prod.ProduceSync(ctx, rec(topics[2], 0, "z")).FirstErr()
			if err == nil {
				err = prod.EndTransaction(ctx, kgo.TryCommit)
			}
			if tc.wantCommit {
				if err != nil {
					t.Fatalf("commit after restart: %v", err)
				}
				for i, topic := range topics {
					if got := values(readAll(t, n.addr(), topic, true)); !slices.Equal(got, []string{string("xyz"[i])}) {
						t.Fatalf("%s read_committed %v", topic, got)
					}
				}
				return
			}
			if !errors.Is(err, kerr.ProducerFenced) && !errors.Is(err, kerr.InvalidProducerEpoch) {
				t.Fatalf("commit of the aborted transaction: %v, want a fencing error", err)
			}
			t.Logf("the producer was told: %v", err)
			for _, topic := range topics {
				if got := readAll(t, n.addr(), topic, true); len(got) != 0 {
					t.Fatalf("%s read_committed shows %v of the aborted transaction", topic, values(got))
				}
			}
			if got := values(readAll(t, n.addr(), topics[0], false)); !slices.Equal(got, []string{"x"}) {
				t.Fatalf("%s read_uncommitted %v, want the aborted record", topics[0], got)
			}
		})
	}
}

// TestTimedOutTransactionIsAbortedAndFenced leaves a transaction open past its
// timeout: the broker aborts it and bumps the epoch, the producer's next write
// and its commit are refused, and a new producer instance carries on.
func TestTimedOutTransactionIsAbortedAndFenced(t *testing.T) {
	const topic = "timeout"
	n := startNode(t, nil)
	createTopics(t, n.addr(), 1, topic)
	prod := txnProducer(t, n.addr(), "slow", kgo.TransactionTimeout(time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := prod.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := prod.ProduceSync(ctx, rec(topic, 0, "late")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(newClient(t, n.addr()))
	before, err := adm.DescribeTransactions(ctx, "slow")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the coordinator to abort the timed-out transaction", func() bool {
		d, err := adm.DescribeTransactions(ctx, "slow")
		return err == nil && d["slow"].State == "CompleteAbort"
	})
	after, _ := adm.DescribeTransactions(ctx, "slow")
	if after["slow"].ProducerEpoch != before["slow"].ProducerEpoch+1 {
		t.Fatalf("epoch %d after the timeout, was %d: not fenced", after["slow"].ProducerEpoch, before["slow"].ProducerEpoch)
	}
	prods, err := adm.DescribeProducers(ctx, kadm.TopicsSet{topic: {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	prods.EachProducer(func(d kadm.DescribedProducer) {
		if d.ProducerEpoch != after["slow"].ProducerEpoch || d.CurrentTxnStartOffset != -1 {
			t.Fatalf("partition producer state %+v, want the fencing epoch and no open transaction", d)
		}
	})

	err = prod.ProduceSync(ctx, rec(topic, 0, "zombie")).FirstErr()
	if err == nil {
		err = prod.EndTransaction(ctx, kgo.TryCommit)
	}
	if !errors.Is(err, kerr.ProducerFenced) && !errors.Is(err, kerr.InvalidProducerEpoch) {
		t.Fatalf("the timed-out producer carried on: %v", err)
	}
	t.Logf("the timed-out producer was told: %v", err)
	if got := readAll(t, n.addr(), topic, true); len(got) != 0 {
		t.Fatalf("read_committed shows %v", values(got))
	}

	// A new instance of the transactional id works.
	next := txnProducer(t, n.addr(), "slow")
	transact(t, next, true, rec(topic, 0, "fresh"))
	if got := values(readAll(t, n.addr(), topic, true)); !slices.Equal(got, []string{"fresh"}) {
		t.Fatalf("read_committed %v, want [fresh]", got)
	}
}
