package group

import (
	"errors"
	"testing"
	"time"
)

// TestRequestErrors checks the error every request gets in each refused situation.
func TestRequestErrors(t *testing.T) {
	tests := []struct {
		name string
		// setup returns the ids of a Stable group of two dynamic members (or nil).
		setup func(h *harness) []string
		do    func(h *harness, ids []string) error
		want  error
	}{
		{"join: session timeout below the minimum", nil, func(h *harness, _ []string) error {
			req := jreq("", "c")
			req.SessionTimeout = 500 * time.Millisecond
			return h.joined(h.join(req)).Err
		}, ErrInvalidSessionTimeout},
		{"join: session timeout above the maximum", nil, func(h *harness, _ []string) error {
			req := jreq("", "c")
			req.SessionTimeout = 2 * time.Hour
			return h.joined(h.join(req)).Err
		}, ErrInvalidSessionTimeout},
		{"join: empty protocol type into an empty group", nil, func(h *harness, _ []string) error {
			req := jreq("", "c")
			req.ProtocolType = ""
			return h.joined(h.join(req)).Err
		}, ErrInconsistentProtocol},
		{"join: no protocols", nil, func(h *harness, _ []string) error {
			req := jreq("", "c")
			req.Protocols = nil
			return h.joined(h.join(req)).Err
		}, ErrInconsistentProtocol},
		{"join: other protocol type", stable2, func(h *harness, _ []string) error {
			req := jreq("", "c")
			req.ProtocolType = "connect"
			return h.joined(h.join(req)).Err
		}, ErrInconsistentProtocol},
		{"join: no protocol in common", stable2, func(h *harness, _ []string) error {
			req := jreq("", "c")
			req.Protocols = protos("t", "sticky")
			return h.joined(h.join(req)).Err
		}, ErrInconsistentProtocol},
		{"join: unknown member id", stable2, func(h *harness, _ []string) error {
			return h.joined(h.join(jreq("ghost", "c"))).Err
		}, ErrUnknownMemberID},
		{"join: known member of an emptied group", func(h *harness) []string {
			ids := h.stable(1)
			h.leave(LeaveMember{MemberID: ids[0]})
			return ids
		}, func(h *harness, ids []string) error {
			return h.joined(h.join(jreq(ids[0], "c"))).Err
		}, ErrUnknownMemberID},
		{"join: group.max.size reached", func(h *harness) []string {
			h.set.MaxSize = 2
			return h.stable(2)
		}, func(h *harness, _ []string) error {
			return h.joined(h.join(jreq("", "c"))).Err
		}, ErrGroupMaxSizeReached},
		{"join: v4 new member must come back with its id", nil, func(h *harness, _ []string) error {
			req := jreq("", "c")
			req.RequireKnownMemberID = true
			r := h.joined(h.join(req))
			if r.MemberID == "" {
				h.t.Fatal("MEMBER_ID_REQUIRED without a member id")
			}
			return r.Err
		}, ErrMemberIDRequired},
		{"sync: illegal generation", stable2, func(h *harness, ids []string) error {
			return h.synced(h.sync(SyncRequest{MemberID: ids[1], Generation: 7})).Err
		}, ErrIllegalGeneration},
		{"sync: unknown member", stable2, func(h *harness, _ []string) error {
			return h.synced(h.sync(SyncRequest{MemberID: "ghost", Generation: 1})).Err
		}, ErrUnknownMemberID},
		{"sync: wrong protocol name (v5)", stable2, func(h *harness, ids []string) error {
			return h.synced(h.sync(SyncRequest{MemberID: ids[1], Generation: 1, Protocol: "sticky"})).Err
		}, ErrInconsistentProtocol},
		{"sync: wrong protocol type (v5)", stable2, func(h *harness, ids []string) error {
			return h.synced(h.sync(SyncRequest{MemberID: ids[1], Generation: 1, ProtocolType: "connect"})).Err
		}, ErrInconsistentProtocol},
		{"sync: while preparing", stable2, func(h *harness, ids []string) error {
			h.join(jreq("", "new"))
			return h.synced(h.sync(SyncRequest{MemberID: ids[1], Generation: 1})).Err
		}, ErrRebalanceInProgress},
		{"heartbeat: empty group", nil, func(h *harness, _ []string) error {
			return h.g.Heartbeat(h.now, "m", "", 0)
		}, ErrUnknownMemberID},
		{"heartbeat: illegal generation", stable2, func(h *harness, ids []string) error {
			return h.g.Heartbeat(h.now, ids[0], "", 0)
		}, ErrIllegalGeneration},
		{"heartbeat: unknown member", stable2, func(h *harness, _ []string) error {
			return h.g.Heartbeat(h.now, "ghost", "", 1)
		}, ErrUnknownMemberID},
		{"heartbeat: while completing is fine", func(h *harness) []string {
			return []string{h.joined(h.join(jreq("", "c"))).MemberID}
		}, func(h *harness, ids []string) error {
			return h.g.Heartbeat(h.now, ids[0], "", 1)
		}, nil},
		{"leave: unknown member", stable2, func(h *harness, _ []string) error {
			return h.leave(LeaveMember{MemberID: "ghost"})[0]
		}, ErrUnknownMemberID},
		{"commit: admin commit to an active group", stable2, func(h *harness, _ []string) error {
			return h.g.ValidateCommit(h.now, "", "", -1)
		}, ErrUnknownMemberID},
		{"commit: admin commit to an empty group", nil, func(h *harness, _ []string) error {
			return h.g.ValidateCommit(h.now, "", "", -1)
		}, nil},
		{"commit: member with a stale generation", stable2, func(h *harness, ids []string) error {
			return h.g.ValidateCommit(h.now, ids[0], "", 0)
		}, ErrIllegalGeneration},
		{"commit: member of generation -1 of an active group", stable2, func(h *harness, ids []string) error {
			return h.g.ValidateCommit(h.now, ids[0], "", -1)
		}, ErrIllegalGeneration},
		{"commit: unknown member", stable2, func(h *harness, _ []string) error {
			return h.g.ValidateCommit(h.now, "ghost", "", 1)
		}, ErrUnknownMemberID},
		{"commit: while completing", func(h *harness) []string {
			return []string{h.joined(h.join(jreq("", "c"))).MemberID}
		}, func(h *harness, ids []string) error {
			return h.g.ValidateCommit(h.now, ids[0], "", 1)
		}, ErrRebalanceInProgress},
		{"commit: while preparing is allowed", stable2, func(h *harness, ids []string) error {
			h.join(jreq("", "new"))
			return h.g.ValidateCommit(h.now, ids[1], "", 1)
		}, nil},
		{"commit: stable member", stable2, func(h *harness, ids []string) error {
			return h.g.ValidateCommit(h.now, ids[1], "", 1)
		}, nil},
		{"delete: active group", stable2, func(h *harness, _ []string) error {
			return h.g.CanDelete()
		}, ErrNonEmptyGroup},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 0)
			var ids []string
			if tc.setup != nil {
				ids = tc.setup(h)
			}
			if err := tc.do(h, ids); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func stable2(h *harness) []string { return h.stable(2) }

// TestMemberIDRequired follows KIP-394: the pending member id holds up a
// rebalance until the member joins with it or its session timeout passes.
func TestMemberIDRequired(t *testing.T) {
	h := newHarness(t, 0)
	ids := h.stable(1)
	req := jreq("", "new")
	req.RequireKnownMemberID = true
	pendingID := h.joined(h.join(req)).MemberID
	h.wantState(Stable) // a pending member does not rebalance by itself

	lw := h.join(jreq(ids[0], "c0")) // leader rejoin: rebalance, but the pending id holds it
	h.wantState(PreparingRebalance)
	h.held(lw)
	req.MemberID = pendingID
	nw := h.join(req)
	h.wantState(CompletingRebalance)
	if r := h.joined(nw); r.Err != nil || r.MemberID != pendingID || r.Generation != 2 {
		t.Fatalf("pending member join %+v", r)
	}

	// A pending id that never comes back expires after its session timeout.
	h2 := newHarness(t, 0)
	ids2 := h2.stable(1)
	req2 := jreq("", "new")
	req2.RequireKnownMemberID = true
	h2.join(req2)
	w := h2.join(jreq(ids2[0], "c0"))
	h2.advance(9 * time.Second)
	h2.held(w)
	h2.advance(time.Second)
	if r := h2.joined(w); r.Err != nil || len(r.Members) != 1 {
		t.Fatalf("after the pending id expired: %+v", r)
	}
}

func TestSelectProtocol(t *testing.T) {
	tests := []struct {
		name    string
		members [][]string // each member's protocols, in preference order
		want    string
	}{
		{"single member takes its first", [][]string{{"cooperative-sticky", "range"}}, "cooperative-sticky"},
		{"common subset only", [][]string{{"sticky", "range"}, {"roundrobin", "range"}}, "range"},
		{"majority vote", [][]string{{"range", "sticky"}, {"sticky", "range"}, {"sticky", "range"}}, "sticky"},
		{"tie goes to the first member's preference", [][]string{{"range", "sticky"}, {"sticky", "range"}}, "range"},
		{"votes count only common protocols", [][]string{{"x", "range", "sticky"}, {"sticky", "range"}, {"range", "sticky"}}, "range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, time.Second)
			var ws []Waiter
			for i, ps := range tc.members {
				req := jreq("", "c")
				req.Protocols = protos("t", ps...)
				ws = append(ws, h.join(req))
				if r, ok := h.replies[ws[i]]; ok {
					t.Fatalf("member %d refused: %v", i, r.Join.Err)
				}
			}
			h.advance(time.Second)
			h.advance(time.Second)
			if r := h.joined(ws[0]); r.Protocol != tc.want {
				t.Fatalf("selected %q, want %q", r.Protocol, tc.want)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	h := newHarness(t, 0)
	ids := h.stable(2)
	d := h.g.Describe()
	if d.State != Stable || d.Protocol != "range" || d.ProtocolType != "consumer" || len(d.Members) != 2 {
		t.Fatalf("describe %+v", d)
	}
	if string(d.Members[1].Assignment) != "a:"+ids[1] || len(d.Members[1].Metadata) == 0 || d.Members[1].ClientID != "c1" {
		t.Fatalf("member %+v", d.Members[1])
	}
	h.join(jreq("", "new"))
	d = h.g.Describe()
	if d.State != PreparingRebalance || d.Protocol != "" || d.Members[0].Assignment != nil {
		t.Fatalf("describe while preparing shows %+v", d)
	}
	for _, s := range []State{Empty, PreparingRebalance, CompletingRebalance, Stable, Dead} {
		if got, ok := ParseState(s.String()); !ok || got != s {
			t.Fatalf("ParseState(%q) = %v, %v", s, got, ok)
		}
	}
	if _, ok := ParseState("stable"); !ok {
		t.Fatal("ParseState is not case-insensitive")
	}
}
