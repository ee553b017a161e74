package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/broker"
)

// replicatedEnv is three in-process brokers forming a raft cluster on
// 127.0.0.1, with a kadm client over all of them.
type replicatedEnv struct {
	brokers []*broker.Broker
	adm     *kadm.Client
	cl      *kgo.Client
}

// freeAddrs reserves n loopback ports and releases them for the brokers.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().String())
	}
	for _, ln := range lns {
		ln.Close()
	}
	return out
}

func startReplicated(t *testing.T) *replicatedEnv {
	t.Helper()
	raftAddrs := freeAddrs(t, 3)
	var peers []string
	for i, a := range raftAddrs {
		peers = append(peers, fmt.Sprintf("%d@%s", i+1, a))
	}
	e := &replicatedEnv{brokers: make([]*broker.Broker, 3)}
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range 3 {
		cfg := broker.Config{
			NodeID:    int32(i + 1),
			DataDir:   t.TempDir(),
			Listeners: []string{"127.0.0.1:0"},
			ClusterID: "replicated-admin-test",
			Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
			Cluster: &broker.ClusterConfig{
				RaftAddr: raftAddrs[i], Peers: peers,
				HeartbeatInterval: 200 * time.Millisecond, SessionTimeout: 2 * time.Second,
				ElectionTimeout: 500 * time.Millisecond, ReplicaLagMax: 5 * time.Second,
				ControlledShutdownTimeout: 5 * time.Second,
			},
		}
		b, err := broker.New(cfg)
		if err != nil {
			t.Fatalf("broker.New %d: %v", i+1, err)
		}
		e.brokers[i] = b
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			errs[i] = b.Start(ctx)
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		if e.cl != nil {
			e.cl.Close()
		}
		var wg sync.WaitGroup
		for _, b := range e.brokers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				_ = b.Shutdown(ctx)
			}()
		}
		wg.Wait()
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	var seeds []string
	for _, b := range e.brokers {
		seeds = append(seeds, b.Addrs()[0].String())
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.MetadataMinAge(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	e.cl = cl
	e.adm = kadm.NewClient(cl)
	return e
}

// partition reads one partition's metadata from the cluster.
func (e *replicatedEnv) partition(t *testing.T, topic string, p int32) kadm.PartitionDetail {
	t.Helper()
	md, err := e.adm.Metadata(testCtx(t), topic)
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	return md.Topics[topic].Partitions[p]
}

// TestReplicatedAdminOps drives ElectLeaders, AlterPartitionReassignments and
// ListPartitionReassignments with kadm against three in-process brokers.
func TestReplicatedAdminOps(t *testing.T) {
	e := startReplicated(t)
	ctx := testCtx(t)
	// RF=2 over three brokers: every partition has a broker to move to.
	res, err := e.adm.CreateTopic(ctx, 3, 2, nil, "moves")
	if err != nil || res.Err != nil {
		t.Fatalf("create topic: %v %v", err, res.Err)
	}
	eventually(t, 20*time.Second, func() error {
		for p := range int32(3) {
			pd := e.partition(t, "moves", p)
			if len(pd.ISR) != 2 || pd.Leader != pd.Replicas[0] {
				return fmt.Errorf("partition %d: leader %d replicas %v isr %v", p, pd.Leader, pd.Replicas, pd.ISR)
			}
		}
		return nil
	})
	for i := range 30 {
		e.cl.Produce(ctx, &kgo.Record{Topic: "moves", Partition: int32(i % 3), Value: []byte(fmt.Sprint(i))}, nil)
	}
	if err := e.cl.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}

	t.Run("elect leaders", func(t *testing.T) {
		// Every partition is led by its preferred replica: nothing to do, and
		// kadm drops ELECTION_NOT_NEEDED.
		set := kadm.TopicsSet{"moves": {0: {}, 1: {}}, "nope": {0: {}}}
		got, err := e.adm.ElectLeaders(ctx, kadm.ElectPreferredReplica, set)
		if err != nil {
			t.Fatalf("elect leaders: %v", err)
		}
		if r, ok := got["nope"][0]; !ok || !errors.Is(r.Err, kerr.UnknownTopicOrPartition) {
			t.Errorf("unknown topic: got %+v", got["nope"])
		}
		for _, p := range []int32{0, 1} {
			if r, ok := got["moves"][p]; !ok || !errors.Is(r.Err, kerr.ElectionNotNeeded) {
				t.Errorf("moves-%d: %+v", p, r)
			}
		}
		got, err = e.adm.ElectLeaders(ctx, kadm.ElectLiveReplica, kadm.TopicsSet{"moves": {2: {}}})
		if err != nil {
			t.Fatalf("unclean election: %v", err)
		}
		if r := got["moves"][2]; !errors.Is(r.Err, kerr.ElectionNotNeeded) {
			t.Errorf("unclean election of a led partition: %v", r.Err)
		}
	})

	t.Run("reassign", func(t *testing.T) {
		before := e.partition(t, "moves", 0)
		var spare int32
		for id := int32(1); id <= 3; id++ {
			if !slices.Contains(before.Replicas, id) {
				spare = id
			}
		}
		// Replace the preferred leader with the spare broker, keeping the other.
		target := []int32{spare, before.Replicas[1]}
		req := kadm.AlterPartitionAssignmentsReq{}
		req.Assign("moves", 0, target)
		req.Assign("moves", 1, []int32{1, 1})  // duplicate broker
		req.Assign("moves", 2, []int32{1, 42}) // unknown broker
		req.Assign("nope", 0, []int32{1})
		got, err := e.adm.AlterPartitionAssignments(ctx, req)
		if err != nil {
			t.Fatalf("alter partition assignments: %v", err)
		}
		want := map[string]map[int32]error{
			"moves": {0: nil, 1: kerr.InvalidReplicaAssignment, 2: kerr.InvalidReplicaAssignment},
			"nope":  {0: kerr.UnknownTopicOrPartition},
		}
		for topic, ps := range want {
			for p, w := range ps {
				r, ok := got[topic][p]
				switch {
				case !ok:
					t.Errorf("%s-%d: no result", topic, p)
				case w == nil && r.Err != nil:
					t.Errorf("%s-%d: %v", topic, p, r.Err)
				case w != nil && !errors.Is(r.Err, w):
					t.Errorf("%s-%d: got %v, want %v", topic, p, r.Err, w)
				}
			}
		}
		// The move finishes once the spare caught up: replicas become the
		// target, the old preferred leader leaves, and the data is all there.
		eventually(t, 30*time.Second, func() error {
			pd := e.partition(t, "moves", 0)
			if !slices.Equal(pd.Replicas, target) || !slices.Contains(target, pd.Leader) {
				return fmt.Errorf("replicas %v leader %d, want replicas %v", pd.Replicas, pd.Leader, target)
			}
			listed, err := e.adm.ListPartitionReassignments(ctx, kadm.TopicsSet{"moves": {0: {}}})
			if err != nil {
				return err
			}
			if len(listed) != 0 {
				return fmt.Errorf("still listed: %+v", listed)
			}
			return nil
		})
		all, err := e.adm.ListPartitionReassignments(ctx, nil)
		if err != nil || len(all) != 0 {
			t.Errorf("list all reassignments: %v %+v", err, all)
		}
		// A cancellation of a partition not being moved.
		cancelReq := kadm.AlterPartitionAssignmentsReq{}
		cancelReq.CancelAssign("moves", 1)
		got, err = e.adm.AlterPartitionAssignments(ctx, cancelReq)
		if err != nil {
			t.Fatalf("cancel: %v", err)
		}
		if r := got["moves"][1]; !errors.Is(r.Err, kerr.NoReassignmentInProgress) {
			t.Errorf("cancel without a reassignment: %v", r.Err)
		}
	})

	t.Run("preferred election after a reorder", func(t *testing.T) {
		// Reordering moves-1's replicas keeps its leader but makes the other
		// replica the preferred one; ElectLeaders then moves leadership.
		before := e.partition(t, "moves", 1)
		reordered := []int32{before.Replicas[1], before.Replicas[0]}
		req := kadm.AlterPartitionAssignmentsReq{}
		req.Assign("moves", 1, reordered)
		got, err := e.adm.AlterPartitionAssignments(ctx, req)
		if err != nil || got["moves"][1].Err != nil {
			t.Fatalf("reorder moves-1: %v %v", err, got["moves"][1].Err)
		}
		eventually(t, 20*time.Second, func() error {
			pd := e.partition(t, "moves", 1)
			if !slices.Equal(pd.Replicas, reordered) || len(pd.ISR) != 2 {
				return fmt.Errorf("replicas %v isr %v, want replicas %v", pd.Replicas, pd.ISR, reordered)
			}
			return nil
		})
		// The controller's own periodic preferred election (every 10s) may
		// get there first; then the request has nothing left to do.
		autoElected := e.partition(t, "moves", 1).Leader == reordered[0]
		elected, err := e.adm.ElectLeaders(ctx, kadm.ElectPreferredReplica, kadm.TopicsSet{"moves": {1: {}}})
		if err != nil {
			t.Fatalf("elect: %v", err)
		}
		r := elected["moves"][1]
		switch {
		case autoElected && !errors.Is(r.Err, kerr.ElectionNotNeeded):
			t.Fatalf("moves-1, already led by its preferred replica: %v", r.Err)
		case !autoElected && r.Err != nil:
			t.Fatalf("moves-1: %v", r.Err)
		}
		eventually(t, 10*time.Second, func() error {
			if pd := e.partition(t, "moves", 1); pd.Leader != reordered[0] {
				return fmt.Errorf("leader %d, preferred %d", pd.Leader, reordered[0])
			}
			return nil
		})
	})

	// Everything produced before the moves can still be read.
	cons, err := kgo.NewClient(kgo.SeedBrokers(e.brokers[0].Addrs()[0].String()),
		kgo.ConsumeTopics("moves"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	seen := map[string]bool{}
	deadline := time.Now().Add(20 * time.Second)
	for len(seen) < 30 && time.Now().Before(deadline) {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		fs := cons.PollFetches(pctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
	}
	if len(seen) != 30 {
		var missing []string
		for i := range 30 {
			if !seen[fmt.Sprint(i)] {
				missing = append(missing, fmt.Sprint(i))
			}
		}
		t.Errorf("read %d of 30 records after the moves; missing %s", len(seen), strings.Join(missing, ","))
	}
}

// TestSingleNodeReplicaOps: a single node answers the replication operations
// from its metadata without a controller: nothing to elect, only its own
// placement to "reassign" to, nothing in progress.
func TestSingleNodeReplicaOps(t *testing.T) {
	e := startAdminEnv(t, "")
	ctx := testCtx(t)
	e.createTopic("solo", 2, nil)
	elected, err := e.adm.ElectLeaders(ctx, kadm.ElectPreferredReplica, kadm.TopicsSet{"solo": {0: {}, 1: {}, 7: {}}})
	if err != nil {
		t.Fatalf("elect leaders: %v", err)
	}
	type check struct {
		name      string
		got, want error
	}
	tests := []check{
		{"elect solo-0", elected["solo"][0].Err, kerr.ElectionNotNeeded},
		{"elect solo-1", elected["solo"][1].Err, kerr.ElectionNotNeeded},
		{"elect solo-7", elected["solo"][7].Err, kerr.UnknownTopicOrPartition},
	}
	req := kadm.AlterPartitionAssignmentsReq{}
	req.Assign("solo", 0, []int32{1})
	req.Assign("solo", 1, []int32{2})
	req.CancelAssign("solo", 0)
	moved, err := e.adm.AlterPartitionAssignments(ctx, req)
	if err != nil {
		t.Fatalf("alter partition assignments: %v", err)
	}
	// kadm keeps the last entry per partition: solo-0's cancellation.
	tests = append(tests,
		check{"cancel solo-0", moved["solo"][0].Err, kerr.NoReassignmentInProgress},
		check{"move solo-1 to an unknown broker", moved["solo"][1].Err, kerr.InvalidReplicaAssignment},
	)
	same := kadm.AlterPartitionAssignmentsReq{}
	same.Assign("solo", 0, []int32{1})
	kept, err := e.adm.AlterPartitionAssignments(ctx, same)
	if err != nil {
		t.Fatalf("alter to the same replicas: %v", err)
	}
	tests = append(tests, check{"keep solo-0 on broker 1", kept["solo"][0].Err, nil})
	for _, tt := range tests {
		if (tt.want == nil && tt.got != nil) || (tt.want != nil && !errors.Is(tt.got, tt.want)) {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	listed, err := e.adm.ListPartitionReassignments(ctx, nil)
	if err != nil || len(listed) != 0 {
		t.Errorf("list reassignments: %v %+v", err, listed)
	}
}
