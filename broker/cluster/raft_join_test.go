package cluster

import (
	"fmt"
	"testing"

	"github.com/hashicorp/raft"
)

// TestRaftNodeJoinsWithAddNode: a node opened with the cluster's peer list
// but not in it bootstraps nothing, and once add-node makes it a member (a
// non-voter: three voters exist) it receives the metadata.
func TestRaftNodeJoinsWithAddNode(t *testing.T) {
	c := newMemCluster(t, 3)
	c.register(t)
	if _, err := c.node(2).CreateTopic("joined", 2, 3, nil, false); err != nil {
		t.Fatalf("create topic: %v", err)
	}
	var peers []string
	for i, tr := range c.trans {
		peers = append(peers, fmt.Sprintf("%d@%s", i+1, tr.LocalAddr()))
	}
	addr, tr := raft.NewInmemTransport("mem-node4:1")
	for _, other := range c.trans {
		tr.Connect(other.LocalAddr(), other)
		other.Connect(addr, tr)
	}
	c.trans = append(c.trans, tr)
	c.dirs = append(c.dirs, t.TempDir())
	d4 := c.start(4, peers)
	if _, ok := d4.Snapshot().Topic("joined"); ok {
		t.Fatal("a node that was not added already has the cluster's metadata")
	}
	resp, err := c.call(string(c.trans[0].LocalAddr()), ControllerRequest{Op: OpAddNode, Node: &NodeSpec{ID: 4, RaftAddr: string(addr)}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Err(); err != nil {
		t.Fatalf("add node 4: %v", err)
	}
	waitFor(t, "node 4 to receive the metadata", func() bool {
		_, ok := d4.Snapshot().Topic("joined")
		return ok
	})
	st, err := d4.Status()
	if err != nil {
		t.Fatalf("status via node 4: %v", err)
	}
	roles := map[int32]bool{}
	for _, m := range st.Members {
		roles[m.ID] = m.Voter
	}
	want := map[int32]bool{1: true, 2: true, 3: true, 4: false}
	if fmt.Sprint(roles) != fmt.Sprint(want) {
		t.Errorf("members %v, want %v (id: voter)", roles, want)
	}
}
