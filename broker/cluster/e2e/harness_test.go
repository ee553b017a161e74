package e2e

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/platform/nodetest"
)

// bin is the tributary binary TestMain builds once (nodetest.PrebuiltEnv,
// E2E_TRIBUTARY_BIN, names a prebuilt one instead: a tree whose CLI does not
// build at the moment, or a faster edit loop).
var bin *nodetest.Binary

func TestMain(m *testing.M) {
	bin = nodetest.MustBuild()
	code := m.Run()
	bin.Remove()
	os.Exit(code)
}

// node is one cluster member: fixed ports and data dir; its process comes and
// goes (nodetest.Node, which logs each run's output when the test failed).
type node struct {
	id    int32
	dir   string
	kafka string
	http  string
	raft  string
	proc  *nodetest.Node
	mu    sync.Mutex
	// running is whether the test launched the process and has not killed
	// or stopped it since.
	running bool
}

// testCluster is three nodes started with the same peer list.
type testCluster struct {
	t     testing.TB
	nodes []*node
	peers string
}

// startCluster starts three nodes, each with the flags extra after the
// cluster's own, and waits until every one is ready.
func startCluster(t testing.TB, extra ...string) *testCluster {
	t.Helper()
	addrs := nodetest.FreeAddrs(t, 9)
	c := &testCluster{t: t}
	var peers []string
	for i := range 3 {
		n := &node{id: int32(i + 1), kafka: addrs[3*i], http: addrs[3*i+1], raft: addrs[3*i+2]}
		c.nodes = append(c.nodes, n)
		peers = append(peers, fmt.Sprintf("%d@%s", n.id, n.raft))
	}
	c.peers = strings.Join(peers, ",")
	for _, n := range c.nodes {
		c.prepare(n, extra)
		c.launch(n)
	}
	for _, n := range c.nodes {
		c.waitReady(n)
	}
	return c
}

// args are the flags every node gets besides nodetest's own (data dir,
// listener, HTTP address): short timeouts so failover is quick on loopback,
// the peer list, and the server's initial rebalance delay (3s, which
// nodetest would set to 0) that the group scenarios were written against.
func (c *testCluster) args(n *node, extra []string) []string {
	return append([]string{"--node-id", fmt.Sprint(n.id), "--shutdown-timeout", "20s",
		"--groups-initial-rebalance-delay", "3s",
		"--cluster-raft-addr", n.raft, "--cluster-peers", c.peers,
		"--cluster-session-timeout", "2s", "--cluster-heartbeat-interval", "250ms",
		"--cluster-replica-lag-max", "5s", "--log-level", "info"}, extra...)
}

// prepare gives n its process settings and data dir; launch runs it.
func (c *testCluster) prepare(n *node, extra []string) {
	c.t.Helper()
	n.proc = bin.NewNode(c.t, nodetest.Name(fmt.Sprintf("node %d", n.id)), nodetest.Ports(n.kafka, n.http),
		nodetest.Flags(c.args(n, extra)...))
	n.dir = n.proc.DataDir()
}

// launch starts n's process without waiting for it to be ready.
func (c *testCluster) launch(n *node) {
	c.t.Helper()
	n.proc.Launch()
	n.mu.Lock()
	n.running = true
	n.mu.Unlock()
}

// waitReady waits until n answers /readyz and its Kafka port accepts
// connections; the test fails if it exits first or takes over a minute.
func (c *testCluster) waitReady(n *node) {
	c.t.Helper()
	n.proc.WaitReady()
}

// kill SIGKILLs a node's process (if running) and waits for it to exit.
func (c *testCluster) kill(n *node) {
	n.proc.Kill()
	n.mu.Lock()
	n.running = false
	n.mu.Unlock()
}

// stop sends SIGTERM (controlled shutdown) and waits up to limit; a node
// still running then fails the test and is killed.
func (c *testCluster) stop(n *node, limit time.Duration) {
	c.t.Helper()
	if !c.isLive(n.id) {
		return
	}
	if _, err := n.proc.Stop(limit); err != nil {
		c.t.Errorf("node %d: %v", n.id, err)
	}
	c.kill(n)
}

// stopAll stops every node at once, as an operator stopping the cluster would.
func (c *testCluster) stopAll(limit time.Duration) {
	c.t.Helper()
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		wg.Go(func() { c.stop(n, limit) })
	}
	wg.Wait()
}

// restart launches a stopped node again and waits until it is ready.
func (c *testCluster) restart(n *node) {
	c.t.Helper()
	c.launch(n)
	c.waitReady(n)
}

func (c *testCluster) seeds() []string {
	var out []string
	for _, n := range c.nodes {
		out = append(out, n.kafka)
	}
	return out
}

// liveSeeds are the Kafka addresses of the nodes whose process runs: a fresh
// client seeded with a dead node can fail its first request on the dial.
func (c *testCluster) liveSeeds() []string {
	var out []string
	for _, n := range c.liveNodes() {
		out = append(out, n.kafka)
	}
	return out
}

func (c *testCluster) node(id int32) *node { return c.nodes[id-1] }

// client returns a franz-go client over every node, closed with the test.
func (c *testCluster) client(opts ...kgo.Opt) *kgo.Client {
	c.t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.seeds()...)}, opts...)...)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(cl.Close)
	return cl
}

// partitionState is one partition's leader, ISR and replicas as the cluster
// reports it.
type partitionState struct {
	leader   int32
	isr      []int32
	replicas []int32
}

func (c *testCluster) describe(adm *kadm.Client, topic string) (map[int32]partitionState, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	md, err := adm.Metadata(ctx, topic)
	if err != nil {
		return nil, err
	}
	td, ok := md.Topics[topic]
	if !ok || td.Err != nil {
		return nil, fmt.Errorf("topic %s: %v", topic, td.Err)
	}
	out := map[int32]partitionState{}
	for p, pd := range td.Partitions {
		out[p] = partitionState{leader: pd.Leader, isr: pd.ISR}
	}
	return out, nil
}

// liveNodes are the nodes whose process runs (not killed or stopped).
func (c *testCluster) liveNodes() []*node {
	var out []*node
	for _, n := range c.nodes {
		n.mu.Lock()
		if n.running {
			out = append(out, n)
		}
		n.mu.Unlock()
	}
	return out
}

// askNode sends req to node n alone, through a client of its own (no cached
// metadata, no routing to another node), and returns its answer.
func askNode(n *node, req kmsg.Request) (kmsg.Response, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.kafka))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return cl.SeedBrokers()[0].Request(ctx, req)
}

// nodeMetadata is the metadata of topics (none: brokers and controller only)
// as node n alone reports it.
func nodeMetadata(n *node, topics ...string) (*kmsg.MetadataResponse, error) {
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{} // empty, not nil: nil asks for every topic
	for _, topic := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(topic)
		req.Topics = append(req.Topics, rt)
	}
	resp, err := askNode(n, req)
	if err != nil {
		return nil, err
	}
	return resp.(*kmsg.MetadataResponse), nil
}

// agreedPartitions is every partition of topic (leader and sorted ISR) as
// every live node, each asked on its own, reports it, and whether they all
// answered and agree (replicas in order). Decisions after a failover must use it: a shared
// client's cached Metadata answer can lag a leader or ISR change by seconds.
func (c *testCluster) agreedPartitions(topic string) (map[int32]partitionState, bool) {
	var out map[int32]partitionState
	live := c.liveNodes()
	if len(live) == 0 {
		return nil, false
	}
	for _, n := range live {
		md, err := nodeMetadata(n, topic)
		if err != nil || len(md.Topics) != 1 || md.Topics[0].ErrorCode != 0 || len(md.Topics[0].Partitions) == 0 {
			return nil, false
		}
		got := map[int32]partitionState{}
		for _, p := range md.Topics[0].Partitions {
			got[p.Partition] = partitionState{leader: p.Leader, isr: slices.Sorted(slices.Values(p.ISR)), replicas: p.Replicas}
		}
		if out != nil && !maps.EqualFunc(out, got, func(a, b partitionState) bool {
			return a.leader == b.leader && slices.Equal(a.isr, b.isr) && slices.Equal(a.replicas, b.replicas)
		}) {
			return nil, false
		}
		out = got
	}
	return out, true
}

// agreedState is partition 0 of topic as every live node reports it, and
// whether they all answered and agree on its leader and ISR.
func (c *testCluster) agreedState(topic string) (partitionState, bool) {
	st, ok := c.agreedPartitions(topic)
	if !ok {
		return partitionState{}, false
	}
	p, ok := st[0]
	return p, ok
}

// waitAgreed polls until every live node agrees on topic's partitions and
// cond holds for them, and returns that state.
func (c *testCluster) waitAgreed(limit time.Duration, topic, what string, cond func(map[int32]partitionState) bool) map[int32]partitionState {
	c.t.Helper()
	var st map[int32]partitionState
	waitFor(c.t, limit, what+" (every live node agreeing)", func() bool {
		var ok bool
		st, ok = c.agreedPartitions(topic)
		return ok && cond(st)
	})
	return st
}

// fullISRs reports whether each of want partitions has an ISR of n replicas
// and a leader in it.
func fullISRs(want, n int) func(map[int32]partitionState) bool {
	return func(st map[int32]partitionState) bool {
		if len(st) != want {
			return false
		}
		for _, p := range st {
			if len(p.isr) != n || !slices.Contains(p.isr, p.leader) {
				return false
			}
		}
		return true
	}
}

// agreedController is the controller every live node names, once they agree
// on a live one.
func (c *testCluster) agreedController() int32 {
	c.t.Helper()
	var ctrl int32
	waitFor(c.t, 30*time.Second, "every live node naming the same live controller", func() bool {
		ctrl = -1
		for _, n := range c.liveNodes() {
			md, err := nodeMetadata(n)
			if err != nil || (ctrl != -1 && md.ControllerID != ctrl) {
				return false
			}
			ctrl = md.ControllerID
		}
		return ctrl > 0 && c.isLive(ctrl)
	})
	return ctrl
}

// isLive reports whether node id's process runs.
func (c *testCluster) isLive(id int32) bool {
	return slices.ContainsFunc(c.liveNodes(), func(n *node) bool { return n.id == id })
}

// waitFor polls cond until it holds or limit passes.
func waitFor(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
