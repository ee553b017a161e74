package cluster

import (
	"errors"
	"testing"
)

// A controller RPC that reaches a node whose raft is not up yet (the raft port
// accepts before OpenRaft has created it) is answered as by a non-controller,
// so the caller retries, instead of crashing the node.
func TestHandleRPCBeforeRaftStarted(t *testing.T) {
	d := &Raft{cfg: RaftConfig{NodeID: 3}}
	resp := d.handleRPC(ControllerRequest{Op: "heartbeat"})
	if err := resp.Err(); !errors.Is(err, ErrNotController) {
		t.Fatalf("answered %+v (error %v) before raft started, want ErrNotController", resp, err)
	}
}
