package group

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// harness drives one Group with a fake clock and records every reply released.
type harness struct {
	t       *testing.T
	g       *Group
	set     Settings
	now     time.Time
	ids     int
	w       Waiter
	replies map[Waiter]Reply
	stores  int
}

func newHarness(t *testing.T, delay time.Duration) *harness {
	t.Helper()
	h := &harness{t: t, now: time.Unix(1_700_000_000, 0), replies: map[Waiter]Reply{}}
	h.set = Settings{
		MinSessionTimeout:     time.Second,
		MaxSessionTimeout:     time.Hour,
		InitialRebalanceDelay: delay,
		NewMemberID: func(p string) string {
			h.ids++
			return fmt.Sprintf("%s-%d", p, h.ids)
		},
	}
	h.g = NewGroup("g", &h.set, h.now)
	return h
}

func (h *harness) record(eff Effects) {
	h.t.Helper()
	for _, r := range eff.Replies {
		if _, dup := h.replies[r.To]; dup {
			h.t.Fatalf("waiter %d answered twice", r.To)
		}
		if (r.Join == nil) == (r.Sync == nil) {
			h.t.Fatalf("reply to %d must carry exactly one of join and sync", r.To)
		}
		h.replies[r.To] = r
	}
	if eff.Store {
		h.stores++
	}
}

func (h *harness) next() Waiter {
	h.w++
	return h.w
}

func (h *harness) join(req JoinRequest) Waiter {
	h.t.Helper()
	w := h.next()
	h.record(h.g.Join(h.now, w, req))
	return w
}

func (h *harness) sync(req SyncRequest) Waiter {
	h.t.Helper()
	w := h.next()
	h.record(h.g.Sync(h.now, w, req))
	return w
}

func (h *harness) leave(members ...LeaveMember) []error {
	h.t.Helper()
	errs, eff := h.g.Leave(h.now, members)
	h.record(eff)
	return errs
}

func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	h.now = h.now.Add(d)
	h.record(h.g.Tick(h.now))
}

func (h *harness) answered(w Waiter) bool {
	_, ok := h.replies[w]
	return ok
}

// joined returns the JoinGroup reply released for w, failing if there is none.
func (h *harness) joined(w Waiter) JoinResult {
	h.t.Helper()
	r, ok := h.replies[w]
	if !ok || r.Join == nil {
		h.t.Fatalf("join %d: no reply", w)
	}
	return *r.Join
}

// synced returns the SyncGroup reply released for w, failing if there is none.
func (h *harness) synced(w Waiter) SyncResult {
	h.t.Helper()
	r, ok := h.replies[w]
	if !ok || r.Sync == nil {
		h.t.Fatalf("sync %d: no reply", w)
	}
	return *r.Sync
}

func (h *harness) held(w Waiter) {
	h.t.Helper()
	if r, ok := h.replies[w]; ok {
		h.t.Fatalf("waiter %d should be held, got %+v %+v", w, r.Join, r.Sync)
	}
}

func (h *harness) wantState(s State) {
	h.t.Helper()
	if h.g.State() != s {
		h.t.Fatalf("state %v, want %v", h.g.State(), s)
	}
}

// stable builds a Stable group of n members that joined together (one initial
// delay) and synced with assignment "a:<member id>"; it returns their ids, the
// leader first.
func (h *harness) stable(n int) []string {
	h.t.Helper()
	saved := h.set.InitialRebalanceDelay
	h.set.InitialRebalanceDelay = time.Second
	ws := make([]Waiter, n)
	for i := range ws {
		ws[i] = h.join(jreq("", fmt.Sprintf("c%d", i)))
	}
	for i := 0; !h.answered(ws[0]); i++ { // the delay extends once per wave of joins
		if i == 3 {
			h.t.Fatal("initial rebalance never completed")
		}
		h.advance(time.Second)
	}
	h.set.InitialRebalanceDelay = saved
	ids := make([]string, n)
	for i, w := range ws {
		ids[i] = h.joined(w).MemberID
	}
	h.syncAll(ids)
	h.wantState(Stable)
	return ids
}

// syncAll makes every member sync, the leader last, giving "a:<id>" assignments.
func (h *harness) syncAll(ids []string) {
	h.t.Helper()
	gen := h.g.Generation()
	plan := map[string][]byte{}
	for _, id := range ids {
		plan[id] = []byte("a:" + id)
	}
	var ws []Waiter
	for _, id := range ids {
		if id != h.g.Leader() {
			ws = append(ws, h.sync(SyncRequest{MemberID: id, Generation: gen}))
		}
	}
	ws = append(ws, h.sync(SyncRequest{MemberID: h.g.Leader(), Generation: gen, Assignments: plan}))
	for _, w := range ws {
		if r := h.synced(w); r.Err != nil {
			h.t.Fatalf("sync: %v", r.Err)
		}
	}
}

func jreq(memberID, client string) JoinRequest {
	return JoinRequest{
		MemberID:         memberID,
		ClientID:         client,
		SessionTimeout:   10 * time.Second,
		RebalanceTimeout: 30 * time.Second,
		ProtocolType:     "consumer",
		Protocols:        protos("t", "range"),
	}
}

func static(req JoinRequest, instance string) JoinRequest {
	req.InstanceID = instance
	return req
}

// protos returns consumer protocols subscribing to topic, in preference order.
func protos(topic string, names ...string) []Protocol {
	meta := kmsg.ConsumerMemberMetadata{Topics: []string{topic}}
	out := make([]Protocol, len(names))
	for i, n := range names {
		out[i] = Protocol{Name: n, Metadata: meta.AppendTo(nil)}
	}
	return out
}
