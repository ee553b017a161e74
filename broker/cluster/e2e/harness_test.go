package e2e

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// binPath is the tributary binary TestMain builds once.
var binPath string

func TestMain(m *testing.M) {
	// E2E_TRIBUTARY_BIN runs a prebuilt binary instead (a tree whose CLI does
	// not build at the moment, or a faster edit loop).
	if bin := os.Getenv("E2E_TRIBUTARY_BIN"); bin != "" {
		binPath = bin
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "tributary-cluster-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "tributary")
	build := exec.Command("go", "build", "-o", binPath, "github.com/tributary-io/tributary/cmd/tributary")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build tributary:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// node is one cluster member: fixed ports and data dir; its process comes and goes.
type node struct {
	id      int32
	dir     string
	kafka   string
	http    string
	raft    string
	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	out     *lockedBuffer
	history []string // output of earlier runs, for failure reports
}

// testCluster is three nodes started with the same peer list.
type testCluster struct {
	t     testing.TB
	nodes []*node
	peers string
}

func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var lns []net.Listener
	var out []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return out
}

// startCluster starts three nodes and waits until every one is ready.
func startCluster(t testing.TB, extra ...string) *testCluster {
	t.Helper()
	ports := freePorts(t, 9)
	c := &testCluster{t: t}
	var peers []string
	for i := range 3 {
		n := &node{id: int32(i + 1), dir: t.TempDir(),
			kafka: fmt.Sprintf("127.0.0.1:%d", ports[3*i]), http: fmt.Sprintf("127.0.0.1:%d", ports[3*i+1]),
			raft: fmt.Sprintf("127.0.0.1:%d", ports[3*i+2])}
		c.nodes = append(c.nodes, n)
		peers = append(peers, fmt.Sprintf("%d@%s", n.id, n.raft))
	}
	c.peers = strings.Join(peers, ",")
	for _, n := range c.nodes {
		c.launch(n, extra)
	}
	for _, n := range c.nodes {
		c.waitReady(n)
	}
	t.Cleanup(func() {
		for _, n := range c.nodes {
			c.kill(n)
		}
		if t.Failed() {
			for _, n := range c.nodes {
				n.mu.Lock()
				out := strings.Join(n.history, "\n--- restart ---\n")
				n.mu.Unlock()
				t.Logf("node %d log (tail):\n%s", n.id, tail(out, 40))
			}
		}
	})
	return c
}

// clusterFlags are the settings every node gets: short timeouts so failover is
// quick on loopback, and a cluster id shared by all.
func (c *testCluster) args(n *node, extra []string) []string {
	return append([]string{"serve", "--node-id", fmt.Sprint(n.id), "--data-dir", n.dir,
		"--listeners", n.kafka, "--http-addr", n.http, "--shutdown-timeout", "20s",
		"--cluster-raft-addr", n.raft, "--cluster-peers", c.peers,
		"--cluster-session-timeout", "2s", "--cluster-heartbeat-interval", "250ms",
		"--cluster-replica-lag-max", "5s", "--log-level", "info"}, extra...)
}

func (c *testCluster) launch(n *node, extra []string) {
	c.t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	n.out = &lockedBuffer{}
	n.done = make(chan struct{})
	n.cmd = exec.Command(binPath, c.args(n, extra)...)
	n.cmd.Stdout, n.cmd.Stderr = n.out, n.out
	if err := n.cmd.Start(); err != nil {
		c.t.Fatalf("start node %d: %v", n.id, err)
	}
	done, cmd := n.done, n.cmd
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
}

func (c *testCluster) waitReady(n *node) {
	c.t.Helper()
	client := http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		n.mu.Lock()
		done := n.done
		n.mu.Unlock()
		select {
		case <-done:
			c.t.Fatalf("node %d exited early:\n%s", n.id, tail(n.out.String(), 30))
		default:
		}
		resp, err := client.Get("http://" + n.http + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("node %d not ready in 60s:\n%s", n.id, tail(n.out.String(), 30))
}

// kill SIGKILLs a node's process (if running) and waits for it to exit.
func (c *testCluster) kill(n *node) {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-done:
	default:
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
	}
	n.mu.Lock()
	if n.cmd == cmd {
		n.history = append(n.history, n.out.String())
		n.cmd = nil
	}
	n.mu.Unlock()
}

// stop sends SIGTERM (controlled shutdown) and waits up to limit.
func (c *testCluster) stop(n *node, limit time.Duration) {
	c.t.Helper()
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(limit):
		c.t.Errorf("node %d did not stop within %s after SIGTERM", n.id, limit)
	}
	c.kill(n)
}

// stopAll stops every node at once, as an operator stopping the cluster would.
func (c *testCluster) stopAll(limit time.Duration) {
	c.t.Helper()
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.stop(n, limit)
		}()
	}
	wg.Wait()
}

// restart launches a stopped node again and waits until it is ready.
func (c *testCluster) restart(n *node, extra ...string) {
	c.t.Helper()
	c.launch(n, extra)
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
		if n.cmd != nil {
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

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
