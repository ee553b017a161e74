package group

import (
	"errors"
	"testing"
	"time"
)

// stableStatic builds a Stable group of static members i0..i(n-1).
func (h *harness) stableStatic(n int) []string {
	h.t.Helper()
	h.set.InitialRebalanceDelay = time.Second
	ws := make([]Waiter, n)
	for i := range ws {
		ws[i] = h.join(static(jreq("", "c"), instance(i)))
	}
	for i := 0; !h.answered(ws[0]); i++ {
		if i == 3 {
			h.t.Fatal("initial rebalance never completed")
		}
		h.advance(time.Second)
	}
	h.set.InitialRebalanceDelay = 0
	ids := make([]string, n)
	for i, w := range ws {
		ids[i] = h.joined(w).MemberID
	}
	h.syncAll(ids)
	return ids
}

func instance(i int) string { return string(rune('i')) + string(rune('0'+i)) }

func TestStaticMembership(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, h *harness, ids []string)
	}{
		{"restart in a stable group keeps the assignment without a rebalance", func(t *testing.T, h *harness, ids []string) {
			stores := h.stores
			w := h.join(static(jreq("", "c"), "i1"))
			r := h.joined(w)
			if r.Err != nil || r.MemberID == ids[1] || r.Generation != 1 || r.LeaderID != ids[0] || r.SkipAssignment {
				t.Fatalf("rejoin result %+v", r)
			}
			h.wantState(Stable)
			if h.stores != stores+1 {
				t.Fatal("replaced static member was not stored")
			}
			s := h.synced(h.sync(SyncRequest{MemberID: r.MemberID, InstanceID: "i1", Generation: 1}))
			if s.Err != nil || string(s.Assignment) != "a:"+ids[1] {
				t.Fatalf("sync after restart: %+v, want the old assignment", s)
			}
			// The other members keep heartbeating without being told to rejoin.
			if err := h.g.Heartbeat(h.now, ids[0], "i0", 1); err != nil {
				t.Fatalf("other member heartbeat: %v", err)
			}
			// The old incarnation is fenced.
			if err := h.g.Heartbeat(h.now, ids[1], "i1", 1); !errors.Is(err, ErrFencedInstanceID) {
				t.Fatalf("old member heartbeat: %v, want FENCED_INSTANCE_ID", err)
			}
			if err := h.g.ValidateCommit(h.now, ids[1], "i1", 1); !errors.Is(err, ErrFencedInstanceID) {
				t.Fatalf("old member commit: %v, want FENCED_INSTANCE_ID", err)
			}
		}},
		{"restarted leader is told to skip assignment", func(t *testing.T, h *harness, ids []string) {
			r := h.joined(h.join(static(jreq("", "c"), "i0")))
			if r.Err != nil || r.LeaderID != r.MemberID || !r.SkipAssignment || r.OldLeaderID != ids[0] || len(r.Members) != 3 {
				t.Fatalf("leader rejoin result %+v", r)
			}
			h.wantState(Stable)
		}},
		{"restart keeping the selected protocol stays stable; one changing it rebalances", func(t *testing.T, h *harness, ids []string) {
			req := static(jreq("", "c"), "i2")
			req.Protocols = protos("t", "roundrobin")
			if r := h.joined(h.join(req)); !errors.Is(r.Err, ErrInconsistentProtocol) {
				t.Fatalf("restart with no common protocol: %v, want INCONSISTENT_GROUP_PROTOCOL", r.Err)
			}
			req.Protocols = protos("t", "roundrobin", "range")
			if r := h.joined(h.join(req)); r.Err != nil {
				t.Fatal(r.Err)
			}
			h.wantState(Stable) // range is the only common protocol: selection unchanged

			h1 := newHarness(t, 0)
			h1.stableStatic(1)
			req.InstanceID = "i0"
			w := h1.join(req) // alone, it now prefers roundrobin: a new generation at once
			h1.wantState(CompletingRebalance)
			if r := h1.joined(w); r.Protocol != "roundrobin" || r.Generation != 2 || r.SkipAssignment {
				t.Fatalf("join result %+v, want a roundrobin generation 2 to assign", r)
			}
		}},
		{"restart while completing rebalances with the new id", func(t *testing.T, h *harness, ids []string) {
			h.join(static(jreq(ids[0], "c"), "i0"))
			h.join(static(jreq(ids[1], "c"), "i1"))
			h.join(static(jreq(ids[2], "c"), "i2"))
			h.wantState(CompletingRebalance)
			old := h.sync(SyncRequest{MemberID: ids[1], InstanceID: "i1", Generation: 2})
			w := h.join(static(jreq("", "c"), "i1"))
			if r := h.synced(old); !errors.Is(r.Err, ErrFencedInstanceID) {
				t.Fatalf("old incarnation's sync: %v, want FENCED_INSTANCE_ID", r.Err)
			}
			h.wantState(PreparingRebalance)
			h.held(w)
		}},
		{"restart while preparing replaces the held join", func(t *testing.T, h *harness, ids []string) {
			h.held(h.join(static(jreq(ids[0], "c"), "i0"))) // leader rejoin: rebalance
			old := h.join(static(jreq(ids[1], "c"), "i1"))
			h.held(old)
			w := h.join(static(jreq("", "c"), "i1"))
			if r := h.joined(old); !errors.Is(r.Err, ErrFencedInstanceID) {
				t.Fatalf("old held join: %v, want FENCED_INSTANCE_ID", r.Err)
			}
			h.held(w)
			h.wantState(PreparingRebalance)
			h.join(static(jreq(ids[2], "c"), "i2"))
			h.wantState(CompletingRebalance)
			if r := h.joined(w); r.Err != nil || r.Generation != 2 {
				t.Fatalf("new incarnation join: %+v", r)
			}
		}},
		{"static member that does not rejoin stays until its session expires", func(t *testing.T, h *harness, ids []string) {
			h.join(static(jreq(ids[0], "c"), "i0")) // leader rejoin starts a rebalance
			w := h.join(static(jreq(ids[1], "c"), "i1"))
			for range 6 { // i2 keeps heartbeating but does not rejoin
				h.advance(5 * time.Second)
				if err := h.g.Heartbeat(h.now, ids[2], "i2", 1); err != nil &&
					!errors.Is(err, ErrRebalanceInProgress) && !errors.Is(err, ErrIllegalGeneration) {
					t.Fatalf("heartbeat: %v", err)
				}
			}
			h.wantState(CompletingRebalance)
			if h.g.NumMembers() != 3 || h.joined(w).Generation != 2 {
				t.Fatalf("%d members, want the static one kept", h.g.NumMembers())
			}
			h.advance(5 * time.Second)
			for _, id := range ids[:2] {
				if err := h.g.Heartbeat(h.now, id, "", 2); err != nil {
					t.Fatalf("heartbeat: %v", err)
				}
			}
			h.advance(5 * time.Second) // i2's session is over
			if h.g.NumMembers() != 2 {
				t.Fatalf("%d members after the session expired, want 2", h.g.NumMembers())
			}
		}},
		{"static leader that does not rejoin hands leadership to one that did", func(t *testing.T, h *harness, ids []string) {
			req := static(jreq(ids[1], "c"), "i1")
			req.Protocols = protos("u", "range")
			h.join(req) // changed subscription: rebalance
			h.join(static(jreq(ids[2], "c"), "i2"))
			for range 6 {
				h.advance(5 * time.Second)
				_ = h.g.Heartbeat(h.now, ids[0], "i0", 1)
			}
			h.wantState(CompletingRebalance)
			if h.g.Leader() != ids[1] || h.g.NumMembers() != 3 {
				t.Fatalf("leader %s of %d, want %s of 3", h.g.Leader(), h.g.NumMembers(), ids[1])
			}
		}},
		{"leave by instance id alone", func(t *testing.T, h *harness, ids []string) {
			errs := h.leave(LeaveMember{InstanceID: "i2"}, LeaveMember{InstanceID: "nope"}, LeaveMember{MemberID: "x", InstanceID: "i1"})
			if errs[0] != nil || !errors.Is(errs[1], ErrUnknownMemberID) || !errors.Is(errs[2], ErrFencedInstanceID) {
				t.Fatalf("leave errors %v", errs)
			}
			if h.g.NumMembers() != 2 {
				t.Fatalf("%d members, want 2", h.g.NumMembers())
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 0)
			ids := h.stableStatic(3)
			tc.run(t, h, ids)
		})
	}
}
