package group

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// transition is one scripted path through the state machine: setup brings the
// group to from, event is the step under test, and check asserts its replies.
type transition struct {
	name  string
	delay time.Duration // group.initial.rebalance.delay.ms
	from  State
	to    State
	// setup returns whatever ids event and check need.
	setup func(h *harness) []string
	event func(h *harness, ids []string) []Waiter
	check func(h *harness, ids []string, ws []Waiter)
}

var transitions = []transition{
	{
		name: "first join waits for the initial delay", delay: 3 * time.Second,
		from: Empty, to: PreparingRebalance,
		setup: func(h *harness) []string { return nil },
		event: func(h *harness, _ []string) []Waiter { return []Waiter{h.join(jreq("", "c"))} },
		check: func(h *harness, _ []string, ws []Waiter) { h.held(ws[0]) },
	},
	{
		name: "first join without delay completes at once",
		from: Empty, to: CompletingRebalance,
		setup: func(h *harness) []string { return nil },
		event: func(h *harness, _ []string) []Waiter { return []Waiter{h.join(jreq("", "c"))} },
		check: func(h *harness, _ []string, ws []Waiter) {
			r := h.joined(ws[0])
			if r.Err != nil || r.Generation != 1 || r.LeaderID != r.MemberID || len(r.Members) != 1 || r.Protocol != "range" {
				t := h.t
				t.Fatalf("join result %+v", r)
			}
		},
	},
	{
		name: "concurrent joins during the initial delay form one generation", delay: 3 * time.Second,
		from: PreparingRebalance, to: CompletingRebalance,
		setup: func(h *harness) []string {
			h.join(jreq("", "a"))
			return nil
		},
		event: func(h *harness, _ []string) []Waiter {
			ws := []Waiter{1, h.join(jreq("", "b")), h.join(jreq("", "c"))}
			h.advance(3 * time.Second) // the delay was extended by the new members
			for _, w := range ws {
				h.held(w)
			}
			h.advance(3 * time.Second)
			return ws
		},
		check: func(h *harness, _ []string, ws []Waiter) {
			leader := h.joined(ws[0])
			if len(leader.Members) != 3 || leader.Generation != 1 {
				h.t.Fatalf("leader sees %d members in generation %d, want 3 in 1", len(leader.Members), leader.Generation)
			}
			for _, w := range ws[1:] {
				if r := h.joined(w); r.Err != nil || r.LeaderID != leader.MemberID || len(r.Members) != 0 {
					h.t.Fatalf("follower result %+v", r)
				}
			}
		},
	},
	{
		name: "initial delay never exceeds the rebalance timeout", delay: 20 * time.Second,
		from: PreparingRebalance, to: CompletingRebalance,
		setup: func(h *harness) []string {
			h.join(jreq("", "a")) // rebalance timeout 30s: delay 20s, then at most 10s more
			return nil
		},
		event: func(h *harness, _ []string) []Waiter {
			h.advance(19 * time.Second)
			w := h.join(jreq("", "b"))
			h.advance(time.Second) // 20s: extended by min(20s, 10s remaining)
			h.advance(9 * time.Second)
			h.held(w)
			h.join(jreq("", "c"))  // would extend again, but the budget is spent
			h.advance(time.Second) // 30s
			return []Waiter{1, w}
		},
		check: func(h *harness, _ []string, ws []Waiter) {
			if r := h.joined(ws[0]); len(r.Members) != 3 {
				h.t.Fatalf("leader sees %d members, want 3", len(r.Members))
			}
		},
	},
	{
		name: "rebalance completes when every member rejoined",
		from: PreparingRebalance, to: CompletingRebalance,
		setup: func(h *harness) []string {
			ids := h.stable(2)
			h.join(jreq("", "new")) // starts the rebalance and waits
			return ids
		},
		event: func(h *harness, ids []string) []Waiter {
			a := h.join(jreq(ids[0], "c0"))
			h.held(a)
			return []Waiter{a, h.join(jreq(ids[1], "c1"))}
		},
		check: func(h *harness, ids []string, ws []Waiter) {
			r := h.joined(ws[0])
			if r.Generation != 2 || r.LeaderID != ids[0] || len(r.Members) != 3 {
				h.t.Fatalf("leader result %+v", r)
			}
			if h.joined(ws[1]).Generation != 2 {
				h.t.Fatal("follower not in generation 2")
			}
		},
	},
	{
		name: "rebalance timeout removes dynamic members that did not rejoin",
		from: PreparingRebalance, to: CompletingRebalance,
		setup: func(h *harness) []string {
			ids := h.stable(3)
			h.record(h.g.Join(h.now, h.next(), jreq(ids[0], "c0"))) // leader rejoin starts a rebalance
			return ids
		},
		event: func(h *harness, ids []string) []Waiter {
			w := h.join(jreq(ids[1], "c1"))
			for range 6 { // ids[2] stays alive by heartbeats but never rejoins
				if err := h.g.Heartbeat(h.now, ids[2], "", 1); !errors.Is(err, ErrRebalanceInProgress) {
					h.t.Fatalf("heartbeat while preparing: %v", err)
				}
				h.held(w)
				h.advance(5 * time.Second)
			}
			return []Waiter{w}
		},
		check: func(h *harness, ids []string, ws []Waiter) {
			if h.g.NumMembers() != 2 || h.joined(ws[0]).Generation != 2 {
				h.t.Fatalf("%d members after timeout, want 2", h.g.NumMembers())
			}
			if _, ok := h.g.Assignment(ids[2]); ok {
				h.t.Fatal("member that did not rejoin is still in the group")
			}
		},
	},
	{
		name: "silent leader is expired and a member that rejoined leads",
		from: PreparingRebalance, to: CompletingRebalance,
		setup: func(h *harness) []string {
			ids := h.stable(2)
			req := jreq(ids[1], "c1")
			req.Protocols = protos("u", "range") // changed subscription: rebalance
			h.join(req)
			return ids
		},
		event: func(h *harness, _ []string) []Waiter {
			h.advance(10 * time.Second)
			return nil
		},
		check: func(h *harness, ids []string, _ []Waiter) {
			if h.g.Leader() != ids[1] || h.g.NumMembers() != 1 {
				h.t.Fatalf("leader %q with %d members, want %q alone", h.g.Leader(), h.g.NumMembers(), ids[1])
			}
		},
	},
	{
		name: "everyone leaving while preparing empties the group",
		from: PreparingRebalance, to: Empty,
		setup: func(h *harness) []string {
			ids := h.stable(2)
			h.join(jreq(ids[0], "c0"))
			return ids
		},
		event: func(h *harness, ids []string) []Waiter {
			h.leave(LeaveMember{MemberID: ids[0]}, LeaveMember{MemberID: ids[1]})
			return []Waiter{h.w}
		},
		check: func(h *harness, _ []string, ws []Waiter) {
			if r := h.joined(ws[0]); !errors.Is(r.Err, ErrUnknownMemberID) {
				h.t.Fatalf("held join of a leaving member answered %v, want UNKNOWN_MEMBER_ID", r.Err)
			}
			if h.g.Generation() != 2 || h.g.Protocol() != "" {
				h.t.Fatalf("generation %d protocol %q, want 2 and none", h.g.Generation(), h.g.Protocol())
			}
		},
	},
	{
		name: "leader sync makes the group Stable and releases held syncs",
		from: CompletingRebalance, to: Stable,
		setup: func(h *harness) []string {
			ws := []Waiter{h.join(jreq("", "a"))}
			return []string{h.joined(ws[0]).MemberID}
		},
		event: func(h *harness, ids []string) []Waiter {
			return []Waiter{h.sync(SyncRequest{MemberID: ids[0], Generation: 1, Assignments: map[string][]byte{ids[0]: []byte("x")}})}
		},
		check: func(h *harness, _ []string, ws []Waiter) {
			if r := h.synced(ws[0]); r.Err != nil || string(r.Assignment) != "x" || r.Protocol != "range" {
				h.t.Fatalf("sync result %+v", r)
			}
			if h.stores != 1 {
				h.t.Fatalf("%d stores, want 1 (the assignment)", h.stores)
			}
		},
	},
	{
		name: "follower sync waits for the leader; missing assignment is empty",
		from: CompletingRebalance, to: Stable,
		setup: func(h *harness) []string {
			ids := h.stable(2)
			h.join(jreq(ids[0], "c0"))
			h.join(jreq(ids[1], "c1"))
			return ids
		},
		event: func(h *harness, ids []string) []Waiter {
			f := h.sync(SyncRequest{MemberID: ids[1], Generation: 2})
			h.held(f)
			l := h.sync(SyncRequest{MemberID: ids[0], Generation: 2, Assignments: map[string][]byte{ids[0]: []byte("x")}})
			return []Waiter{f, l}
		},
		check: func(h *harness, _ []string, ws []Waiter) {
			if r := h.synced(ws[0]); r.Err != nil || len(r.Assignment) != 0 {
				h.t.Fatalf("follower sync %+v, want empty assignment", r)
			}
		},
	},
	{
		name: "member leaving while completing restarts the rebalance",
		from: CompletingRebalance, to: PreparingRebalance,
		setup: func(h *harness) []string {
			ids := h.stable(3)
			h.join(jreq(ids[0], "c0"))
			h.join(jreq(ids[1], "c1"))
			h.join(jreq(ids[2], "c2"))
			return ids
		},
		event: func(h *harness, ids []string) []Waiter {
			w := h.sync(SyncRequest{MemberID: ids[1], Generation: 2})
			h.leave(LeaveMember{MemberID: ids[2]})
			return []Waiter{w}
		},
		check: func(h *harness, _ []string, ws []Waiter) {
			if r := h.synced(ws[0]); !errors.Is(r.Err, ErrRebalanceInProgress) {
				h.t.Fatalf("held sync answered %v, want REBALANCE_IN_PROGRESS", r.Err)
			}
		},
	},
	{
		name: "rejoin while completing with the same protocols answers the current generation",
		from: CompletingRebalance, to: CompletingRebalance,
		setup: func(h *harness) []string {
			return []string{h.joined(h.join(jreq("", "a"))).MemberID}
		},
		event: func(h *harness, ids []string) []Waiter { return []Waiter{h.join(jreq(ids[0], "a"))} },
		check: func(h *harness, ids []string, ws []Waiter) {
			if r := h.joined(ws[0]); r.Err != nil || r.Generation != 1 || len(r.Members) != 1 {
				h.t.Fatalf("rejoin result %+v, want generation 1 with the member list", r)
			}
		},
	},
	{
		name: "rejoin while completing with changed protocols rebalances",
		from: CompletingRebalance, to: PreparingRebalance,
		setup: func(h *harness) []string {
			ids := h.stable(2)
			h.join(jreq(ids[0], "c0"))
			h.join(jreq(ids[1], "c1"))
			return ids
		},
		event: func(h *harness, ids []string) []Waiter {
			s := h.sync(SyncRequest{MemberID: ids[1], Generation: 2})
			req := jreq(ids[0], "c0")
			req.Protocols = protos("t", "range", "roundrobin")
			return []Waiter{s, h.join(req)}
		},
		check: func(h *harness, _ []string, ws []Waiter) {
			if r := h.synced(ws[0]); !errors.Is(r.Err, ErrRebalanceInProgress) {
				h.t.Fatalf("held sync answered %v, want REBALANCE_IN_PROGRESS", r.Err)
			}
			h.held(ws[1])
		},
	},
	{
		name: "new member while completing rebalances",
		from: CompletingRebalance, to: PreparingRebalance,
		setup: func(h *harness) []string { return []string{h.joined(h.join(jreq("", "a"))).MemberID} },
		event: func(h *harness, _ []string) []Waiter { return []Waiter{h.join(jreq("", "b"))} },
		check: func(h *harness, _ []string, ws []Waiter) { h.held(ws[0]) },
	},
	{
		name: "session expiry of a leader that never synced rebalances",
		from: CompletingRebalance, to: PreparingRebalance,
		setup: func(h *harness) []string {
			ids := h.stable(2)
			h.join(jreq(ids[0], "c0"))
			h.join(jreq(ids[1], "c1"))
			return ids
		},
		event: func(h *harness, ids []string) []Waiter {
			w := h.sync(SyncRequest{MemberID: ids[1], Generation: 2}) // held: awaiting sync never expires
			h.advance(10 * time.Second)
			return []Waiter{w}
		},
		check: func(h *harness, ids []string, ws []Waiter) {
			if _, ok := h.g.Assignment(ids[0]); ok {
				h.t.Fatal("expired leader still present")
			}
			if r := h.synced(ws[0]); !errors.Is(r.Err, ErrRebalanceInProgress) {
				h.t.Fatalf("held sync answered %v, want REBALANCE_IN_PROGRESS", r.Err)
			}
		},
	},
	{
		name: "members that never sync are removed at the sync deadline",
		from: Stable, to: PreparingRebalance,
		setup: func(h *harness) []string {
			ids := h.stable(2)
			h.join(jreq(ids[0], "c0"))
			h.join(jreq(ids[1], "c1"))
			h.sync(SyncRequest{MemberID: ids[0], Generation: 2, Assignments: map[string][]byte{}})
			return ids
		},
		event: func(h *harness, ids []string) []Waiter {
			for range 5 { // keep the silent member's session alive by heartbeats
				h.advance(5 * time.Second)
				if err := h.g.Heartbeat(h.now, ids[0], "", 2); err != nil {
					h.t.Fatalf("heartbeat: %v", err)
				}
				if err := h.g.Heartbeat(h.now, ids[1], "", 2); err != nil {
					h.t.Fatalf("heartbeat: %v", err)
				}
			}
			h.wantState(Stable)
			h.advance(5 * time.Second) // the rebalance timeout (30s) since the join completed
			return nil
		},
		check: func(h *harness, ids []string, _ []Waiter) {
			if h.g.NumMembers() != 1 || h.g.MemberIDs()[0] != ids[0] {
				h.t.Fatalf("members %v, want only %s", h.g.MemberIDs(), ids[0])
			}
		},
	},
	{
		name: "new member joining a stable group rebalances",
		from: Stable, to: PreparingRebalance,
		setup: func(h *harness) []string { return h.stable(2) },
		event: func(h *harness, _ []string) []Waiter { return []Waiter{h.join(jreq("", "new"))} },
		check: func(h *harness, ids []string, ws []Waiter) {
			h.held(ws[0])
			if err := h.g.Heartbeat(h.now, ids[1], "", 1); !errors.Is(err, ErrRebalanceInProgress) {
				h.t.Fatalf("heartbeat %v, want REBALANCE_IN_PROGRESS", err)
			}
		},
	},
	{
		name: "leader rejoining a stable group rebalances",
		from: Stable, to: PreparingRebalance,
		setup: func(h *harness) []string { return h.stable(2) },
		event: func(h *harness, ids []string) []Waiter { return []Waiter{h.join(jreq(ids[0], "c0"))} },
		check: func(h *harness, _ []string, ws []Waiter) { h.held(ws[0]) },
	},
	{
		name: "follower rejoining a stable group unchanged gets the current generation",
		from: Stable, to: Stable,
		setup: func(h *harness) []string { return h.stable(2) },
		event: func(h *harness, ids []string) []Waiter { return []Waiter{h.join(jreq(ids[1], "c1"))} },
		check: func(h *harness, ids []string, ws []Waiter) {
			if r := h.joined(ws[0]); r.Err != nil || r.Generation != 1 || r.LeaderID != ids[0] || len(r.Members) != 0 {
				h.t.Fatalf("rejoin result %+v", r)
			}
		},
	},
	{
		name: "member leaving a stable group rebalances",
		from: Stable, to: PreparingRebalance,
		setup: func(h *harness) []string { return h.stable(2) },
		event: func(h *harness, ids []string) []Waiter {
			if errs := h.leave(LeaveMember{MemberID: ids[1]}); errs[0] != nil {
				h.t.Fatalf("leave: %v", errs[0])
			}
			return nil
		},
		check: func(h *harness, ids []string, _ []Waiter) {
			if h.g.NumMembers() != 1 {
				h.t.Fatalf("%d members, want 1", h.g.NumMembers())
			}
		},
	},
	{
		name: "session expiry in a stable group rebalances",
		from: Stable, to: PreparingRebalance,
		setup: func(h *harness) []string { return h.stable(2) },
		event: func(h *harness, ids []string) []Waiter {
			h.advance(9 * time.Second)
			if err := h.g.Heartbeat(h.now, ids[0], "", 1); err != nil {
				h.t.Fatalf("heartbeat: %v", err)
			}
			h.wantState(Stable)
			h.advance(time.Second)
			return nil
		},
		check: func(h *harness, ids []string, _ []Waiter) {
			if got := h.g.MemberIDs(); len(got) != 1 || got[0] != ids[0] {
				h.t.Fatalf("members %v, want [%s]", got, ids[0])
			}
		},
	},
	{
		name: "last member leaving a stable group empties it",
		from: Stable, to: Empty,
		setup: func(h *harness) []string { return h.stable(1) },
		event: func(h *harness, ids []string) []Waiter {
			h.stores = 0
			h.leave(LeaveMember{MemberID: ids[0]})
			return nil
		},
		check: func(h *harness, _ []string, _ []Waiter) {
			if h.stores != 1 {
				h.t.Fatalf("%d stores, want 1 (the empty group)", h.stores)
			}
		},
	},
	{
		name: "failed store of the assignment forces a rebalance",
		from: Stable, to: PreparingRebalance,
		setup: func(h *harness) []string { return h.stable(2) },
		event: func(h *harness, _ []string) []Waiter {
			h.record(h.g.StoreFailed(h.now))
			return nil
		},
		check: func(h *harness, ids []string, _ []Waiter) {
			if a, _ := h.g.Assignment(ids[0]); a != nil {
				h.t.Fatalf("assignment %q kept after a failed store", a)
			}
		},
	},
	{
		name: "delete of an empty group kills it",
		from: Empty, to: Dead,
		setup: func(h *harness) []string { return nil },
		event: func(h *harness, _ []string) []Waiter {
			if err := h.g.CanDelete(); err != nil {
				h.t.Fatalf("CanDelete: %v", err)
			}
			h.g.MarkDead(h.now)
			return []Waiter{h.join(jreq("", "late"))}
		},
		check: func(h *harness, _ []string, ws []Waiter) {
			if r := h.joined(ws[0]); !errors.Is(r.Err, ErrCoordinatorNotAvailable) {
				h.t.Fatalf("join of a dead group: %v, want COORDINATOR_NOT_AVAILABLE", r.Err)
			}
		},
	},
	{
		name: "unload answers held joins with NOT_COORDINATOR",
		from: PreparingRebalance, to: Dead, delay: time.Second,
		setup: func(h *harness) []string { h.join(jreq("", "a")); return nil },
		event: func(h *harness, _ []string) []Waiter {
			h.record(h.g.Unload(h.now))
			return []Waiter{1}
		},
		check: func(h *harness, _ []string, ws []Waiter) {
			if r := h.joined(ws[0]); !errors.Is(r.Err, ErrNotCoordinator) {
				h.t.Fatalf("held join answered %v, want NOT_COORDINATOR", r.Err)
			}
		},
	},
	{
		name: "unload answers held syncs with NOT_COORDINATOR",
		from: CompletingRebalance, to: Dead,
		setup: func(h *harness) []string {
			ids := h.stable(2)
			h.join(jreq(ids[0], "c0"))
			h.join(jreq(ids[1], "c1"))
			return ids
		},
		event: func(h *harness, ids []string) []Waiter {
			w := h.sync(SyncRequest{MemberID: ids[1], Generation: 2})
			h.record(h.g.Unload(h.now))
			return []Waiter{w}
		},
		check: func(h *harness, _ []string, ws []Waiter) {
			if r := h.synced(ws[0]); !errors.Is(r.Err, ErrNotCoordinator) {
				h.t.Fatalf("held sync answered %v, want NOT_COORDINATOR", r.Err)
			}
		},
	},
	{
		name: "unload of a stable group",
		from: Stable, to: Dead,
		setup: func(h *harness) []string { return h.stable(1) },
		event: func(h *harness, _ []string) []Waiter { h.record(h.g.Unload(h.now)); return nil },
		check: func(h *harness, ids []string, _ []Waiter) {
			if err := h.g.Heartbeat(h.now, ids[0], "", 1); !errors.Is(err, ErrCoordinatorNotAvailable) {
				h.t.Fatalf("heartbeat to a dead group: %v", err)
			}
		},
	},
}

func TestTransitions(t *testing.T) {
	for _, tc := range transitions {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.delay)
			ids := tc.setup(h)
			h.wantState(tc.from)
			ws := tc.event(h, ids)
			h.wantState(tc.to)
			tc.check(h, ids, ws)
		})
	}
}

// TestTransitionsCoverEveryEdge keeps the table honest: every edge of Kafka's
// classic group state diagram has at least one scripted case.
func TestTransitionsCoverEveryEdge(t *testing.T) {
	edges := []struct{ from, to State }{
		{Empty, PreparingRebalance},
		{Empty, Dead},
		{PreparingRebalance, CompletingRebalance},
		{PreparingRebalance, Empty},
		{PreparingRebalance, Dead},
		{CompletingRebalance, Stable},
		{CompletingRebalance, PreparingRebalance},
		{CompletingRebalance, Dead},
		{Stable, PreparingRebalance},
		{Stable, Dead},
	}
	have := map[string]bool{}
	for _, tc := range transitions {
		have[fmt.Sprint(tc.from, tc.to)] = true
	}
	for _, e := range edges {
		if !have[fmt.Sprint(e.from, e.to)] {
			t.Errorf("no scripted transition %v -> %v", e.from, e.to)
		}
	}
}
