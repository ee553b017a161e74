package cluster

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// memCluster is n raft drivers over raft's in-memory transport, with the
// controller RPC answered in memory.
type memCluster struct {
	t     *testing.T
	mu    sync.Mutex
	nodes map[string]*Raft // by raft address
	list  []*Raft
	trans []*raft.InmemTransport
	dirs  []string
}

func (c *memCluster) call(addr string, req ControllerRequest, _ time.Duration) (ControllerResponse, error) {
	c.mu.Lock()
	d := c.nodes[addr]
	c.mu.Unlock()
	if d == nil {
		return ControllerResponse{}, fmt.Errorf("no node at %s", addr)
	}
	select {
	case <-d.stop:
		return ControllerResponse{}, fmt.Errorf("node at %s is down", addr)
	default:
	}
	return d.handleRPC(req), nil
}

func newMemCluster(t *testing.T, n int) *memCluster {
	t.Helper()
	c := &memCluster{t: t, nodes: map[string]*Raft{}}
	var peers []string
	for i := 1; i <= n; i++ {
		addr, tr := raft.NewInmemTransport(raft.ServerAddress(fmt.Sprintf("mem-node%d:1", i)))
		c.trans = append(c.trans, tr)
		peers = append(peers, fmt.Sprintf("%d@%s:1", i, addr))
	}
	for _, a := range c.trans {
		for _, b := range c.trans {
			if a != b {
				a.Connect(b.LocalAddr(), b)
			}
		}
	}
	// The peer list's addresses must be the in-memory ones.
	for i := range peers {
		peers[i] = fmt.Sprintf("%d@%s", i+1, c.trans[i].LocalAddr())
	}
	for i := 1; i <= n; i++ {
		c.dirs = append(c.dirs, t.TempDir())
		c.start(i, peers)
	}
	t.Cleanup(func() {
		for _, d := range c.list {
			if d != nil {
				d.Close()
			}
		}
	})
	return c
}

func (c *memCluster) start(i int, peers []string) *Raft {
	c.t.Helper()
	d, err := OpenRaft(RaftConfig{
		NodeID: int32(i), ClusterID: "test", Dir: c.dirs[i-1], Peers: peers,
		Transport: c.trans[i-1], Caller: c.call,
		HeartbeatInterval: 50 * time.Millisecond, SessionTimeout: 600 * time.Millisecond,
		ElectionTimeout: 300 * time.Millisecond, PreferredElectionInterval: -1,
		RPCTimeout: 3 * time.Second,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		c.t.Fatalf("open node %d: %v", i, err)
	}
	c.mu.Lock()
	c.nodes[string(c.trans[i-1].LocalAddr())] = d
	for len(c.list) < i {
		c.list = append(c.list, nil)
	}
	c.list[i-1] = d
	c.mu.Unlock()
	return d
}

func (c *memCluster) node(i int) *Raft { return c.list[i-1] }

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *memCluster) register(t *testing.T) {
	for i, d := range c.list {
		b := Broker{ID: int32(i + 1), Host: "127.0.0.1", Port: int32(9000 + i)}
		if err := d.RegisterBroker(b); err != nil {
			t.Fatalf("register %d: %v", i+1, err)
		}
		d.StartHeartbeats(b)
	}
}

func TestRaftReplicatesProposalsFromAnyNode(t *testing.T) {
	c := newMemCluster(t, 3)
	c.register(t)
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("t%d", i)
		top, err := c.node(i).CreateTopic(name, 3, 3, map[string]string{"min.insync.replicas": "2"}, false)
		if err != nil {
			t.Fatalf("create %s on node %d: %v", name, i, err)
		}
		if len(top.Partitions) != 3 || len(top.Partitions[0].Replicas) != 3 {
			t.Fatalf("topic %s placed as %+v", name, top.Partitions)
		}
	}
	if _, err := c.node(2).CreateTopic("t1", 1, 1, nil, false); err == nil || !isErr(err, ErrTopicExists) {
		t.Fatalf("duplicate create: %v, want ErrTopicExists", err)
	}
	first, err := c.node(3).AllocateProducerIDs(3, 1000)
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.node(1).AllocateProducerIDs(1, 1000)
	if err != nil || second != first+1000 {
		t.Fatalf("second block at %d (%v), want %d", second, err, first+1000)
	}
	for i := 1; i <= 3; i++ {
		d := c.node(i)
		waitFor(t, "every node holds the topics", func() bool {
			s := d.Snapshot()
			return len(s.Topics) == 3 && s.NextProducerID == second+1000 && s.ControllerID > 0
		})
	}
}

func isErr(err, target error) bool {
	for e := err; e != nil; {
		if e == target {
			return true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		e = u.Unwrap()
	}
	return false
}

func TestRaftFencesSilentBrokerAndElectsFromISR(t *testing.T) {
	c := newMemCluster(t, 3)
	c.register(t)
	if _, err := c.node(1).Create(TopicSpec{Name: "a", Assignment: [][]int32{{2, 1, 3}, {3, 2, 1}}}, false); err != nil {
		t.Fatal(err)
	}
	ctrl := c.node(1).Snapshot().ControllerID
	victim := int32(2)
	if ctrl == victim {
		victim = 3
	}
	// Stop the victim's heartbeats only: its raft node keeps running.
	c.node(int(victim)).ctrl.stopHeartbeats()
	observer := c.node(int(ctrl))
	waitFor(t, "the silent broker fenced", func() bool {
		b, _ := observer.Snapshot().Broker(victim)
		return b.Fenced
	})
	s := observer.Snapshot()
	for _, p := range s.Topics["a"].Partitions {
		if p.Leader == victim || slices.Contains(p.ISR, victim) {
			t.Fatalf("partition %d still uses fenced broker %d: %+v", p.ID, victim, p)
		}
		if p.Leader == NoLeader {
			t.Fatalf("partition %d went offline with live ISR members: %+v", p.ID, p)
		}
	}
	// A heartbeat unfences it again.
	if _, err := c.node(int(victim)).do(ControllerRequest{Op: OpHeartbeat, BrokerID: victim}); err != nil {
		t.Fatal(err)
	}
	if b, _ := c.node(int(victim)).Snapshot().Broker(victim); b.Fenced {
		t.Fatal("broker still fenced after a heartbeat")
	}
}

func TestRaftControllerFailoverKeepsState(t *testing.T) {
	c := newMemCluster(t, 3)
	c.register(t)
	if _, err := c.node(2).CreateTopic("before", 2, 3, nil, false); err != nil {
		t.Fatal(err)
	}
	old := c.node(1).Snapshot().ControllerID
	c.node(int(old)).Close()
	var other *Raft
	for i := 1; i <= 3; i++ {
		if int32(i) != old {
			other = c.node(i)
		}
	}
	waitFor(t, "a new controller", func() bool {
		id := other.Snapshot().ControllerID
		return id > 0 && id != old
	})
	if _, err := other.CreateTopic("after", 1, 2, nil, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the old controller fenced and its leaderships moved", func() bool {
		s := other.Snapshot()
		b, _ := s.Broker(old)
		if !b.Fenced {
			return false
		}
		for _, p := range s.Topics["before"].Partitions {
			if p.Leader == old || p.Leader == NoLeader {
				return false
			}
		}
		return true
	})
}

func TestRaftUncleanElection(t *testing.T) {
	s := NewMetadata("x", 1)
	for i := int32(1); i <= 2; i++ {
		if err := s.Apply(Command{RegisterBroker: &BrokerRegistration{Broker: Broker{ID: i, Host: "h", Port: 1}}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, unclean := range []string{"false", "true"} {
		name := "u" + unclean
		err := s.Apply(Command{CreateTopic: &TopicCreation{Name: name, ID: UUID{byte(len(unclean))}, Configs: map[string]string{"unclean.leader.election.enable": unclean},
			Partitions: []Partition{{ID: 0, Leader: 1, Replicas: []int32{1, 2}, ISR: []int32{1}}}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	chs := fenceChanges(s.Snapshot(), 1)
	got := map[string]Partition{}
	for _, ch := range chs {
		got[ch.Topic] = ch.State
	}
	if p := got["ufalse"]; p.Leader != NoLeader || !slices.Equal(p.ISR, []int32{1}) || p.LeaderEpoch != 1 {
		t.Fatalf("clean-only topic: %+v, want offline with ISR [1]", p)
	}
	if p := got["utrue"]; p.Leader != 2 || !slices.Equal(p.ISR, []int32{2}) {
		t.Fatalf("unclean topic: %+v, want leader 2 alone", p)
	}
	if err := s.Apply(Command{ChangePartitions: &PartitionChanges{Changes: chs}}); err != nil {
		t.Fatalf("the state machine refuses the controller's changes: %v", err)
	}
}
