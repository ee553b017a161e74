package cluster

import (
	"errors"
	"testing"
)

// CatchUp reports a node whose raft log is cut off from the leader as behind
// (the controller answers it, its own copy lacks what was committed since),
// and succeeds once the log reaches it, with the new topic in its view.
func TestRaftCatchUpWhileCutOffFromTheLeader(t *testing.T) {
	c := newMemCluster(t, 3)
	c.register(t)
	leader := c.node(1).Snapshot().ControllerID
	waitFor(t, "a controller", func() bool {
		leader = c.node(1).Snapshot().ControllerID
		return leader > 0
	})
	f := int(leader%3) + 1 // a follower
	cut := func(connect bool) {
		for i, tr := range c.trans {
			if i+1 == f {
				continue
			}
			other := c.trans[f-1]
			if connect {
				tr.Connect(other.LocalAddr(), other)
				other.Connect(tr.LocalAddr(), tr)
			} else {
				tr.Disconnect(other.LocalAddr())
				other.Disconnect(tr.LocalAddr())
			}
		}
	}
	if err := c.node(f).CatchUp(); err != nil {
		t.Fatalf("catch up while connected: %v", err)
	}
	cut(false)
	if _, err := c.node(int(leader)).CreateTopic("while-cut-off", 1, 3, nil, false); err != nil {
		t.Fatal(err)
	}
	err := c.node(f).CatchUp()
	if !errors.Is(err, ErrNotCaughtUp) && !errors.Is(err, ErrNotController) {
		t.Fatalf("catch up of node %d cut off from the raft log: %v, want ErrNotCaughtUp or ErrNotController", f, err)
	}
	if _, ok := c.node(f).Snapshot().Topic("while-cut-off"); ok {
		t.Fatalf("node %d holds the topic while cut off", f)
	}
	cut(true)
	waitFor(t, "node caught up after reconnecting", func() bool { return c.node(f).CatchUp() == nil })
	if _, ok := c.node(f).Snapshot().Topic("while-cut-off"); !ok {
		t.Fatalf("node %d caught up without the topic created while it was cut off", f)
	}
}
