package broker_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/broker"
)

// TestRaftMetrics starts a broker as a one-voter raft cluster and checks the
// raft series: the role (Leader, the other states 0), the term, and the log
// positions, which move when the metadata changes.
func TestRaftMetrics(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	raftAddr := l.Addr().String()
	l.Close()
	reg := prometheus.NewRegistry()
	b, err := broker.New(broker.Config{
		NodeID: 1, DataDir: t.TempDir(), Listeners: []string{"127.0.0.1:0"}, Logger: quietLogger(),
		CleanerInterval: time.Minute, Metrics: reg,
		Cluster: &broker.ClusterConfig{RaftAddr: raftAddr, Peers: []string{"1@" + raftAddr}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer stopNode(t, b)

	for state, want := range map[string]float64{"Leader": 1, "Follower": 0, "Candidate": 0, "Shutdown": 0} {
		if v, ok := gathered(t, reg, "tributary_raft_state", map[string]string{"state": state}); !ok || v != want {
			t.Errorf("tributary_raft_state{state=%s} = %v (present %v), want %v", state, v, ok, want)
		}
	}
	if v, _ := gathered(t, reg, "tributary_raft_term", map[string]string{}); v < 1 {
		t.Errorf("tributary_raft_term = %v, want at least 1", v)
	}
	if v, _ := gathered(t, reg, "tributary_controller_active", map[string]string{}); v != 1 {
		t.Errorf("tributary_controller_active = %v, want 1 on the only voter", v)
	}
	applied := func() float64 {
		v, ok := gathered(t, reg, "tributary_raft_index", map[string]string{"position": "applied"})
		if !ok {
			t.Fatal("tributary_raft_index{position=applied} missing")
		}
		return v
	}
	before := applied()
	if last, _ := gathered(t, reg, "tributary_raft_index", map[string]string{"position": "last"}); last < before || before < 1 {
		t.Errorf("raft index last %v, applied %v: want 1 <= applied <= last", last, before)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()[0].String()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 2, 1, nil, "raft-metrics"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for applied() <= before {
		if time.Now().After(deadline) {
			t.Fatalf("tributary_raft_index{position=applied} stayed at %v after a topic was created", before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
