package e2e

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/platform/nodetest"
)

// addNode starts a fourth node with the cluster's peer list (so it joins
// instead of bootstrapping), adds it with `tributary cluster add-node`, and
// waits until it is ready.
func (c *testCluster) addNode(id int32) *node {
	c.t.Helper()
	addrs := nodetest.FreeAddrs(c.t, 3)
	n := &node{id: id, kafka: addrs[0], http: addrs[1], raft: addrs[2]}
	c.nodes = append(c.nodes, n)
	c.prepare(n, nil)
	c.launch(n)
	r := bin.Run(c.t, nil, "cluster", "add-node", "--raft-addr", c.nodes[0].raft,
		"--id", fmt.Sprint(id), "--node-raft-addr", n.raft)
	if r.Code != 0 {
		c.t.Fatalf("cluster add-node %d: exit code %d\n%s%s", id, r.Code, r.Stdout, r.Stderr)
	}
	c.waitReady(n)
	return n
}

// TestClusterReassignToNewNode is scenario 6: under an idempotent acks=all
// producer, a fourth node joins and a partition is reassigned from one of the
// original nodes to it. The move completes only once the new replica is in
// sync; afterwards every acknowledged record is there exactly once and the new
// replica set's logs are byte-identical up to the high watermark.
func TestClusterReassignToNewNode(t *testing.T) {
	c := startCluster(t)
	adm := kadm.NewClient(c.client())
	const topic = "moving"
	const partitions = 2
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	resp, err := adm.CreateTopic(ctx, partitions, 3, map[string]*string{"min.insync.replicas": kadm.StringPtr("2")}, topic)
	if err != nil || resp.Err != nil {
		t.Fatalf("create topic: %v %v", err, resp.Err)
	}
	prod := c.client(kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProduceRequestTimeout(10*time.Second), kgo.RetryTimeout(time.Minute))
	stop := make(chan struct{})
	a := produceNumbered(t, prod, topic, partitions, stop)
	waitFor(t, 30*time.Second, "first acks", func() bool { return a.count() > 500 })

	n4 := c.addNode(4)
	// Decisions ask every node afresh (agreedPartitions): a shared client's
	// Metadata answer can lag a change by seconds.
	st := c.waitAgreed(30*time.Second, topic, "full ISRs", fullISRs(partitions, 3))
	old := st[0].replicas
	// Replace the last replica of partition 0 with node 4, keeping the leader.
	target := append(slices.Clone(old[:2]), n4.id)
	req := kadm.AlterPartitionAssignmentsReq{}
	req.Assign(topic, 0, target)
	before := a.count()
	moved, err := adm.AlterPartitionAssignments(ctx, req)
	if err != nil {
		t.Fatalf("alter partition assignments: %v", err)
	}
	if r := moved[topic][0]; r.Err != nil {
		t.Fatalf("reassign %s-0 to %v: %v", topic, target, r.Err)
	}
	start := time.Now()
	c.waitAgreed(90*time.Second, topic, fmt.Sprintf("%s-0 on %v with a full ISR", topic, target), func(st map[int32]partitionState) bool {
		return slices.Equal(st[0].replicas, target) && len(st[0].isr) == 3 && slices.Contains(st[0].isr, n4.id)
	})
	t.Logf("%s-0 moved from %v to %v in %s under load", topic, old, target, time.Since(start).Round(time.Millisecond))
	// The replica that left deletes its copy (renamed, then removed).
	gone := filepath.Join(c.node(old[2]).dir, topic+"-0")
	waitFor(t, 30*time.Second, "the old replica's log removed", func() bool {
		_, err := os.Stat(gone)
		return errors.Is(err, fs.ErrNotExist)
	})
	listed, err := adm.ListPartitionReassignments(ctx, nil)
	if err != nil || len(listed) != 0 {
		t.Errorf("reassignments still listed after the move: %v %+v", err, listed)
	}
	waitFor(t, 60*time.Second, "acks after the move", func() bool { return a.count() > before+500 })
	close(stop)
	if err := prod.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.errs) > 0 {
		t.Errorf("%d produce errors, first %v", len(a.errs), a.errs[0])
	}
	// Partition 0 moved: read it back and compare the logs of its new
	// replicas (scenarios 1 and 2 cover the unmoved case).
	onlyMoved := map[int32][]ackedRec{0: a.recs[0]}
	var newSet []*node
	for _, id := range target {
		newSet = append(newSet, c.node(id))
	}
	sub := &testCluster{t: t, nodes: newSet, peers: c.peers}
	checkAcked(t, sub, adm, topic, 1, onlyMoved)
}
