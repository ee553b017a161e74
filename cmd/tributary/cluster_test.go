package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tributary-io/tributary/broker"
)

// inProcessCluster is three brokers in this process forming a raft cluster on
// 127.0.0.1; the CLI runs against them through run().
type inProcessCluster struct {
	t       *testing.T
	peers   []string
	raft    []string
	brokers []*broker.Broker
}

func loopbackAddrs(t *testing.T, n int) []string {
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

func clusterNodeConfig(t *testing.T, id int32, raftAddr string, peers []string) broker.Config {
	return broker.Config{
		NodeID: id, DataDir: t.TempDir(), Listeners: []string{"127.0.0.1:0"}, ClusterID: "cli-cluster-test",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Cluster: &broker.ClusterConfig{
			RaftAddr: raftAddr, Peers: peers, MinBrokers: 3,
			HeartbeatInterval: 200 * time.Millisecond, SessionTimeout: 2 * time.Second,
			ElectionTimeout: 500 * time.Millisecond, ReplicaLagMax: 5 * time.Second,
			ControlledShutdownTimeout: 5 * time.Second,
		},
	}
}

// startBroker starts b, bounded by a minute.
func startBroker(b *broker.Broker) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return b.Start(ctx)
}

func stopBroker(t *testing.T, b *broker.Broker) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.Shutdown(ctx); err != nil {
		t.Logf("shutdown: %v", err)
	}
}

func startInProcessCluster(t *testing.T) *inProcessCluster {
	t.Helper()
	c := &inProcessCluster{t: t, raft: loopbackAddrs(t, 3)}
	for i, a := range c.raft {
		c.peers = append(c.peers, fmt.Sprintf("%d@%s", i+1, a))
	}
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range 3 {
		b, err := broker.New(clusterNodeConfig(t, int32(i+1), c.raft[i], c.peers))
		if err != nil {
			t.Fatal(err)
		}
		c.brokers = append(c.brokers, b)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = startBroker(b)
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		var wg sync.WaitGroup
		for _, b := range c.brokers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				stopBroker(t, b)
			}()
		}
		wg.Wait()
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start broker %d: %v", i+1, err)
		}
	}
	return c
}

func (c *inProcessCluster) bootstrap() string {
	var s []string
	for _, b := range c.brokers {
		s = append(s, b.Addrs()[0].String())
	}
	return strings.Join(s, ",")
}

// cli runs `tributary args...` in process and returns stdout, failing on a
// non-zero exit.
func (c *inProcessCluster) cli(args ...string) string {
	c.t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
		env: func(string) (string, bool) { return "", false }, exit: func(int) {}})
	if code != 0 {
		c.t.Fatalf("tributary %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	return out.String()
}

func (c *inProcessCluster) status() clusterStatusOut {
	c.t.Helper()
	var st clusterStatusOut
	out := c.cli("cluster", "status", "--bootstrap", c.bootstrap(), "--raft-addr", c.raft[0], "--output", "json")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		c.t.Fatalf("status json: %v\n%s", err, out)
	}
	return st
}

// pollStatus polls status until check returns nil or limit passes.
func (c *inProcessCluster) pollStatus(limit time.Duration, check func(clusterStatusOut) error) clusterStatusOut {
	c.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		st := c.status()
		err := check(st)
		if err == nil {
			return st
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("cluster status after %s: %v\n%+v", limit, err, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func nodeIDs(st clusterStatusOut) string {
	var s []string
	for _, n := range st.Nodes {
		s = append(s, fmt.Sprintf("%d:%s", n.ID, n.Raft))
	}
	return strings.Join(s, ",")
}

// TestClusterCLI runs cluster status, add-node and remove-node against three
// in-process brokers and a fourth that joins and leaves.
func TestClusterCLI(t *testing.T) {
	c := startInProcessCluster(t)

	st := c.pollStatus(10*time.Second, func(st clusterStatusOut) error {
		if got := nodeIDs(st); got != "1:voter,2:voter,3:voter" {
			return fmt.Errorf("nodes %s", got)
		}
		return nil
	})
	if st.Controller < 1 || st.Controller > 3 || st.ClusterID != "cli-cluster-test" {
		t.Errorf("controller %d cluster %q", st.Controller, st.ClusterID)
	}
	controllers := 0
	for _, n := range st.Nodes {
		if n.Controller {
			controllers++
		}
	}
	if controllers != 1 {
		t.Errorf("%d nodes marked controller", controllers)
	}

	// A topic with RF=3: healthy, then under-replicated while a node is down.
	c.cli("topic", "create", "health", "--partitions", "2", "--replication-factor", "3", "--bootstrap", c.bootstrap())
	c.pollStatus(20*time.Second, func(st clusterStatusOut) error {
		if len(st.UnderReplicated)+len(st.Offline) != 0 {
			return fmt.Errorf("under %v offline %v", st.UnderReplicated, st.Offline)
		}
		return nil
	})
	table := c.cli("cluster", "status", "--bootstrap", c.bootstrap())
	for _, want := range []string{"Under-replicated partitions: 0", "Offline partitions: 0", "CONTROLLER"} {
		if !strings.Contains(table, want) {
			t.Errorf("table output lacks %q:\n%s", want, table)
		}
	}

	// A fourth node with the cluster's peer list joins through add-node.
	addrs := loopbackAddrs(t, 1)
	b4, err := broker.New(clusterNodeConfig(t, 4, addrs[0], c.peers))
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan error, 1)
	go func() { started <- startBroker(b4) }()
	var added membershipResult
	out := c.cli("cluster", "add-node", "--raft-addr", c.raft[1], "--id", "4", "--node-raft-addr", addrs[0], "--output", "json")
	if err := json.Unmarshal([]byte(out), &added); err != nil || added.ID != 4 || added.Action != "added" {
		t.Fatalf("add-node output %q: %v", out, err)
	}
	if err := <-started; err != nil {
		stopBroker(t, b4)
		t.Fatalf("start node 4: %v", err)
	}
	c.pollStatus(20*time.Second, func(st clusterStatusOut) error {
		if got := nodeIDs(st); got != "1:voter,2:voter,3:voter,4:non-voter" {
			return fmt.Errorf("nodes %s", got)
		}
		return nil
	})

	// Node 4 holds no replica: stopped and removed, it leaves the quorum and
	// the broker list.
	stopBroker(t, b4)
	c.cli("cluster", "remove-node", "--raft-addr", c.raft[2], "--id", "4")
	c.pollStatus(20*time.Second, func(st clusterStatusOut) error {
		if got := nodeIDs(st); got != "1:voter,2:voter,3:voter" || len(st.RaftMembers) != 0 {
			return fmt.Errorf("nodes %s, other members %v", got, st.RaftMembers)
		}
		return nil
	})

	// Stopping a node makes the RF=3 partitions under-replicated.
	stopBroker(t, c.brokers[2])
	c.pollStatus(30*time.Second, func(st clusterStatusOut) error {
		var health []string
		for _, p := range st.UnderReplicated {
			if p.Topic == "health" && len(p.ISR) == 2 {
				health = append(health, fmt.Sprint(p.Partition))
			}
		}
		if strings.Join(health, ",") != "0,1" || len(st.Offline) != 0 {
			return fmt.Errorf("under-replicated health partitions %v, offline %d", health, len(st.Offline))
		}
		return nil
	})
}

// TestClusterCLIUsage checks the flag errors that need no cluster.
func TestClusterCLIUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"cluster"}, "no action given"},
		{[]string{"cluster", "frob"}, `unknown action "frob"`},
		{[]string{"cluster", "add-node", "--node-raft-addr", "x:1"}, "--id"},
		{[]string{"cluster", "add-node", "--id", "4"}, "--node-raft-addr"},
		{[]string{"cluster", "remove-node"}, "--id"},
		{[]string{"cluster", "status", "--output", "xml"}, "--output"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), tt.args, &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
				env: func(string) (string, bool) { return "", false }, exit: func(int) {}})
			if code != 1 || !strings.Contains(errb.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want exit 1 and %q", code, errb.String(), tt.want)
			}
		})
	}
}
