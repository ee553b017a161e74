package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Transactions across the three-node cluster: the transaction coordinator
// writes markers to partitions other brokers lead (WriteTxnMarkers), keeps
// retrying them while a leader moves, and moves itself with the leadership of
// its __transaction_state partition.

// txnCreateTopic creates topic with RF=3 and min.insync.replicas=2 and returns
// its partitions' leaders once each partition has one.
func txnCreateTopic(t *testing.T, c *testCluster, adm *kadm.Client, topic string, partitions int32) map[int32]int32 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := adm.CreateTopic(ctx, partitions, 3, map[string]*string{"min.insync.replicas": kadm.StringPtr("2")}, topic)
	if err != nil || resp.Err != nil {
		t.Fatalf("create topic %s: %v %v", topic, err, resp.Err)
	}
	leaders := map[int32]int32{}
	waitFor(t, 30*time.Second, "leaders of "+topic, func() bool {
		st, err := c.describe(adm, topic)
		if err != nil || len(st) != int(partitions) {
			return false
		}
		for p, s := range st {
			if s.leader < 0 {
				return false
			}
			leaders[p] = s.leader
		}
		return true
	})
	return leaders
}

// txnCoordinator is the node coordinating transactional id as a live node,
// asked through a client of its own (no cached metadata), reports it; not
// (-1 for none) is a node known to be down, whose leaderships have yet to move.
func txnCoordinator(t *testing.T, c *testCluster, id string, not int32) int32 {
	t.Helper()
	coord := int32(-1)
	waitFor(t, 60*time.Second, fmt.Sprintf("a coordinator of %s other than %d", id, not), func() bool {
		for _, n := range c.liveNodes() {
			cl, err := kgo.NewClient(kgo.SeedBrokers(n.kafka))
			if err != nil {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			rs := kadm.NewClient(cl).FindTxnCoordinators(ctx, id)
			cancel()
			cl.Close()
			if r, ok := rs[id]; ok && r.Err == nil && r.NodeID >= 0 && r.NodeID != not {
				coord = r.NodeID
				return true
			}
		}
		return false
	})
	return coord
}

// txnIDsAvoiding returns n transactional ids (prefix-0, prefix-1, ...) whose
// coordinators are live nodes other than avoid, spread over both of them
// (n > 1), and those coordinators.
func txnIDsAvoiding(t *testing.T, c *testCluster, prefix string, n int, avoid int32) ([]string, []int32) {
	t.Helper()
	var ids []string
	var coords []int32
	for k := 0; len(ids) < n; k++ {
		if k == 64 {
			t.Fatalf("no %d of %d transactional ids %s-N are coordinated away from node %d in a spread: %v on %v", n, k, prefix, avoid, ids, coords)
		}
		id := fmt.Sprintf("%s-%d", prefix, k)
		coord := txnCoordinator(t, c, id, -1)
		if coord == avoid {
			continue
		}
		// The last id must land on a node the others do not use yet, if any.
		spread := len(slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(coords), coord)))))
		if len(ids) == n-1 && n > 1 && spread < 2 {
			continue
		}
		ids = append(ids, id)
		coords = append(coords, coord)
	}
	return ids, coords
}

// txnSentinel starts the values txnReadAll appends to know where a partition ends.
const txnSentinel = "sentinel-"

// txnReadAll returns the values of every record of topic, read from the start
// with read_committed or read_uncommitted. Markers and aborted records leave
// no offsets a consumer can count, so it first appends a plain sentinel to
// each partition and reads until it has seen all of them; under
// read_committed a sentinel shows only once every transaction before it ended
// in that partition (its marker was written).
func txnReadAll(t *testing.T, c *testCluster, topic string, partitions int32, committed bool) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	prod := c.client(kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RetryTimeout(time.Minute))
	mark := fmt.Sprintf("%s%d", txnSentinel, time.Now().UnixNano())
	for p := range partitions {
		if err := prod.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: p, Value: []byte(mark)}).FirstErr(); err != nil {
			t.Fatalf("sentinel to %s/%d: %v", topic, p, err)
		}
	}
	opts := []kgo.Opt{kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
	if committed {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	cl := c.client(opts...)
	defer cl.Close()
	waiting := map[int32]bool{}
	for p := range partitions {
		waiting[p] = true
	}
	var out []string
	for len(waiting) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %s (committed=%v): %v; no sentinel yet from partitions %v", topic, committed, ctx.Err(), waiting)
		}
		fs.EachRecord(func(r *kgo.Record) {
			v := string(r.Value)
			if v == mark {
				delete(waiting, r.Partition)
			}
			if !strings.HasPrefix(v, txnSentinel) {
				out = append(out, v)
			}
		})
	}
	slices.Sort(out)
	return out
}

// TestTxnClusterCommitAndAbort: transactional producers whose coordinators sit
// on the two nodes the SIGKILL spares write to six partitions led by all three
// nodes, commit
// some transactions and abort others; one commit is decided while the leader
// of some of its partitions has just been SIGKILLed, so its markers complete
// only after leadership moved. read_committed sees exactly the committed
// records, read_uncommitted every record, and the last stable offset of every
// partition reaches its end.
func TestTxnClusterCommitAndAbort(t *testing.T) {
	const (
		topic      = "txn-spread"
		partitions = 6
		txns       = 8
	)
	c := startCluster(t)
	adm := kadm.NewClient(c.client())
	leaders := txnCreateTopic(t, c, adm, topic, partitions)
	if lead := slices.Compact(slices.Sorted(maps.Values(leaders))); len(lead) != 3 {
		t.Fatalf("partition leaders %v are not spread over the three nodes", leaders)
	}

	// victim leads a partition and coordinates none of the producers. The
	// SIGKILL is meant for the markers, not a coordinator: a producer whose
	// coordinator dies between two of its transactions has the next one failed
	// by its client: kgo retries AddPartitionsToTxn on the dead coordinator's
	// refused dials until a metadata refresh drops that broker, then fails the
	// transaction with "unknown broker" (seen in 1 of 3 runs when node 2
	// coordinated spread-b), which an application answers by aborting and
	// starting again; TestTxnClusterExactlyOnceCoordinatorKills covers that.
	victim := leaders[0]
	ids, coords := txnIDsAvoiding(t, c, "spread", 3, victim)
	producers := make([]*kgo.Client, len(ids))
	for i, id := range ids {
		producers[i] = c.client(kgo.TransactionalID(id), kgo.RecordPartitioner(kgo.ManualPartitioner()),
			kgo.TransactionTimeout(30*time.Second), kgo.RetryTimeout(2*time.Minute))
	}
	t.Logf("partition leaders %v; transactional ids %v coordinated by %v; victim node %d", leaders, ids, coords, victim)

	var want, aborted []string
	for n := range txns {
		for i, cl := range producers {
			commit := (n+i)%3 != 1
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			if err := cl.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			var recs []*kgo.Record
			for p := range int32(partitions) {
				v := fmt.Sprintf("%s-%02d-p%d", ids[i], n, p)
				recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Value: []byte(v)})
				if commit {
					want = append(want, v)
				} else {
					aborted = append(aborted, v)
				}
			}
			if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				t.Fatalf("%s transaction %d: produce: %v", ids[i], n, err)
			}
			if n == txns/2 && i == 0 {
				// The records are on the in-sync replicas; the commit is decided
				// with their leader gone, so the markers wait for new leaders.
				t.Logf("SIGKILL node %d before committing %s transaction %d", victim, ids[i], n)
				c.kill(c.node(victim))
			}
			if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
				t.Fatalf("%s transaction %d: end (commit=%v): %v", ids[i], n, commit, err)
			}
			cancel()
		}
		if n == txns/2+2 {
			c.restart(c.node(victim))
		}
	}
	// A commit decided while a partition of the transaction has no leader at
	// all (RF=1, its only replica SIGKILLed) stays PrepareCommit, and the
	// coordinator completes it once the partition is back.
	const lone = "txn-lone"
	outage := txnLeaderOutage(t, c, adm, producers[0], ids[0], coords[0], topic, lone)
	for _, v := range outage {
		want = append(want, "with-"+v)
	}

	slices.Sort(want)
	all := slices.Sorted(slices.Values(append(slices.Clone(want), aborted...)))

	if got := txnReadAll(t, c, topic, partitions, true); !slices.Equal(got, want) {
		t.Errorf("read_committed: %d records, want the %d committed ones (missing %v, unexpected %v)",
			len(got), len(want), txnDiff(want, got), txnDiff(got, want))
	}
	if got := txnReadAll(t, c, topic, partitions, false); !slices.Equal(got, all) {
		t.Errorf("read_uncommitted: %d records, want all %d (missing %v, unexpected %v)",
			len(got), len(all), txnDiff(all, got), txnDiff(got, all))
	}
	// Every transaction ended in every partition: the last stable offset is
	// the end of each log.
	waitFor(t, 30*time.Second, "last stable offsets at the log ends", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ends, err1 := adm.ListEndOffsets(ctx, topic)
		stable, err2 := adm.ListCommittedOffsets(ctx, topic)
		if err1 != nil || err2 != nil || ends.Error() != nil || stable.Error() != nil {
			return false
		}
		same := true
		ends.Each(func(o kadm.ListedOffset) {
			s, ok := stable.Lookup(topic, o.Partition)
			same = same && ok && s.Offset == o.Offset
		})
		return same
	})
	if got := txnReadAll(t, c, lone, 1, true); !slices.Equal(got, outage) {
		t.Errorf("read_committed %s: %v, want %v", lone, got, outage)
	}
	t.Logf("%d committed and %d aborted records over %d transactions of %d producers; node %d killed mid-commit",
		len(want), len(aborted), txns*len(ids), len(ids), victim)
}

// txnLeaderOutage creates topic lone (one partition, one replica on a node
// that does not coordinate id), writes to it and to partition 0 of topic in a
// transaction of producer cl, SIGKILLs the replica's node and commits. With no
// leader for lone the coordinator cannot write that marker: the transaction
// must stay PrepareCommit while the node is down and be completed by the
// coordinator's retries once it is back. It returns the committed values of lone.
func txnLeaderOutage(t *testing.T, c *testCluster, adm *kadm.Client, cl *kgo.Client, id string, coord int32, topic, lone string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	host := coord%3 + 1
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = lone, -1, -1
	ra := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
	ra.Partition, ra.Replicas = 0, []int32{host}
	rt.ReplicaAssignment = append(rt.ReplicaAssignment, ra)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, c.client())
	if err == nil && len(resp.Topics) == 1 {
		err = kerr.ErrorForCode(resp.Topics[0].ErrorCode)
	}
	if err != nil {
		t.Fatalf("create %s on node %d: %v", lone, host, err)
	}
	waitFor(t, 30*time.Second, lone+" led by node "+fmt.Sprint(host), func() bool {
		st, err := c.describe(adm, lone)
		return err == nil && st[0].leader == host
	})

	values := []string{"lone-0", "lone-1"}
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for _, v := range values {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: lone, Partition: 0, Value: []byte(v)},
			&kgo.Record{Topic: topic, Partition: 0, Value: []byte("with-" + v)}).FirstErr(); err != nil {
			t.Fatalf("produce to %s: %v", lone, err)
		}
	}
	t.Logf("SIGKILL node %d, the only replica of %s, before committing", host, lone)
	c.kill(c.node(host))
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatalf("commit with %s offline: %v", lone, err)
	}
	// state is the transaction's state as its coordinator describes it; the
	// request may fail while the client still routes to the killed node.
	var st string
	state := func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d, err := adm.DescribeTransactions(ctx, id)
		if err != nil || d[id].Err != nil {
			return false
		}
		st = d[id].State
		return true
	}
	// The coordinator retries every 10s (and kgo asks nothing more of it), so
	// a few seconds of PrepareCommit show the marker has not been written.
	for range 3 {
		waitFor(t, 20*time.Second, "DescribeTransactions of "+id, state)
		if st != "PrepareCommit" {
			t.Fatalf("transaction of %s is %q while %s has no leader, want PrepareCommit", id, st, lone)
		}
		time.Sleep(time.Second)
	}
	c.restart(c.node(host))
	waitFor(t, 60*time.Second, "the commit to complete once "+lone+" is back", func() bool {
		return state() && st == "CompleteCommit"
	})
	return values
}

// TestTxnClusterExactlyOnceCoordinatorKills runs exactly-once
// consume-transform-produce (kgo GroupTransactSession, two instances) from an
// input topic to an output topic, both RF=3 over six partitions, while an
// idempotent producer keeps writing input. Three times, the node coordinating
// one instance's transactional id is SIGKILLed and, once the instances have
// made progress without it, restarted. The output read with read_committed
// holds every input record exactly once.
func TestTxnClusterExactlyOnceCoordinatorKills(t *testing.T) {
	const (
		in, out    = "eos-in", "eos-out"
		group      = "eos-cluster"
		partitions = 6
		instances  = 2
		rounds     = 3
	)
	c := startCluster(t)
	adm := kadm.NewClient(c.client())
	txnCreateTopic(t, c, adm, in, partitions)
	txnCreateTopic(t, c, adm, out, partitions)

	// The input: numbered records at a steady pace until stopInput.
	input := c.client(kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RetryTimeout(2*time.Minute), kgo.ProducerLinger(5*time.Millisecond))
	stopInput := make(chan struct{})
	var produced, produceErrs atomic.Int64
	var inputWG sync.WaitGroup
	inputWG.Go(func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-stopInput:
				return
			case <-tick.C:
			}
			for j := range 5 {
				v := []byte(strconv.Itoa(5*n + j))
				input.Produce(context.Background(), &kgo.Record{Topic: in, Key: v, Value: v}, func(_ *kgo.Record, err error) {
					if err != nil {
						produceErrs.Add(1)
						return
					}
					produced.Add(1)
				})
			}
		}
	})
	stopInputOnce := sync.OnceFunc(func() {
		close(stopInput)
		inputWG.Wait()
	})
	t.Cleanup(stopInputOnce)

	// The processors, each restarting its session when a transaction fails.
	ctx, cancel := context.WithCancel(context.Background())
	var procWG sync.WaitGroup
	stopProcessors := sync.OnceFunc(func() {
		cancel()
		procWG.Wait()
	})
	t.Cleanup(stopProcessors)
	var done, restarts atomic.Int64
	for i := range instances {
		procWG.Go(func() {
			for ctx.Err() == nil {
				err := eosInstance(ctx, c.seeds(), fmt.Sprintf("eos-%d", i), group, in, out, &done)
				if err != nil && ctx.Err() == nil {
					restarts.Add(1)
					t.Logf("instance %d: %v; starting a new session", i, err)
				}
			}
		})
	}

	waitFor(t, 60*time.Second, "the first processed records", func() bool { return done.Load() > 300 })
	for round := range rounds {
		id := fmt.Sprintf("eos-%d", round%instances)
		victim := txnCoordinator(t, c, id, -1)
		before := done.Load()
		t.Logf("round %d: SIGKILL node %d, coordinator of %s (%d records processed)", round, victim, id, before)
		c.kill(c.node(victim))
		moved := txnCoordinator(t, c, id, victim)
		waitFor(t, 60*time.Second, "progress without the killed coordinator", func() bool { return done.Load() > before+300 })
		t.Logf("round %d: %s coordinated by node %d now; %d records processed", round, id, moved, done.Load())
		c.restart(c.node(victim))
		after := done.Load()
		waitFor(t, 60*time.Second, "progress after the restart", func() bool { return done.Load() > after+300 })
	}
	stopInputOnce()
	if err := input.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := produceErrs.Load(); n > 0 {
		t.Errorf("%d input records were not acknowledged", n)
	}

	// Wait until the group committed offsets at the end of the input.
	waitFor(t, 90*time.Second, "the processors to reach the end of the input", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ends, err1 := adm.ListEndOffsets(ctx, in)
		offs, err2 := adm.FetchOffsets(ctx, group)
		if err1 != nil || err2 != nil || ends.Error() != nil {
			return false
		}
		caught := true
		ends.Each(func(o kadm.ListedOffset) {
			at, ok := offs.Lookup(in, o.Partition)
			caught = caught && ok && at.Err == nil && at.At == o.Offset
		})
		return caught
	})
	stopProcessors()

	inputs := txnReadAll(t, c, in, partitions, false)
	if int64(len(inputs)) != produced.Load() || len(slices.Compact(slices.Clone(inputs))) != len(inputs) {
		t.Fatalf("the input holds %d records (%d distinct), %d were acknowledged",
			len(inputs), len(slices.Compact(slices.Clone(inputs))), produced.Load())
	}
	want := make([]string, len(inputs))
	for i, v := range inputs {
		want[i] = "out-" + v
	}
	slices.Sort(want)
	got := txnReadAll(t, c, out, partitions, true)
	if !slices.Equal(got, want) {
		dups := 0
		for i := 1; i < len(got); i++ {
			if got[i] == got[i-1] {
				dups++
			}
		}
		t.Fatalf("read_committed output: %d records for %d inputs, %d duplicates, missing %v, unexpected %v",
			len(got), len(want), dups, txnDiff(want, got), txnDiff(got, want))
	}
	logged := len(txnReadAll(t, c, out, partitions, false))
	t.Logf("%d input records exactly once in the output after %d coordinator kills; %d session restarts, %d aborted records in the output log",
		len(want), rounds, restarts.Load(), logged-len(want))
}

// eosInstance runs one GroupTransactSession until ctx ends (nil) or a
// transaction fails (the error), counting the records of committed
// transactions in done.
func eosInstance(ctx context.Context, seeds []string, id, group, in, out string, done *atomic.Int64) error {
	sess, err := kgo.NewGroupTransactSession(
		kgo.SeedBrokers(seeds...),
		kgo.TransactionalID(id),
		kgo.TransactionTimeout(20*time.Second),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(in),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RequireStableFetchOffsets(),
		kgo.SessionTimeout(6*time.Second),
		kgo.HeartbeatInterval(500*time.Millisecond),
		kgo.RebalanceTimeout(10*time.Second),
		kgo.RetryTimeout(time.Minute),
		kgo.ProducerLinger(time.Millisecond),
	)
	if err != nil {
		return err
	}
	defer sess.Close()
	for {
		fs := sess.PollRecords(ctx, 200)
		if ctx.Err() != nil || fs.IsClientClosed() {
			return nil
		}
		if err := sess.Begin(); err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		n := 0
		fs.EachRecord(func(r *kgo.Record) {
			n++
			sess.Produce(ctx, &kgo.Record{Topic: out, Key: r.Key, Value: append([]byte("out-"), r.Value...)}, nil)
		})
		committed, err := sess.End(ctx, kgo.TryCommit)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("end: %w", err)
		}
		if committed {
			done.Add(int64(n))
		}
	}
}

// txnDiff lists (up to five of) the values of a missing from b; both sorted.
func txnDiff(a, b []string) []string {
	var out []string
	for _, v := range a {
		if _, found := slices.BinarySearch(b, v); !found {
			out = append(out, v)
			if len(out) == 5 {
				break
			}
		}
	}
	return out
}
