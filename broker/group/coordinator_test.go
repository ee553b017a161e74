package group

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a settable clock safe for concurrent reads.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Unix(1_700_000_000, 0).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// newTestCoordinator starts a coordinator on log with a fake clock and a ticker
// slow enough that tests drive deadlines themselves with tick.
func newTestCoordinator(t *testing.T, log Log, clk *fakeClock, mod func(*Config)) *Coordinator {
	t.Helper()
	var n atomic.Int64
	cfg := Config{
		Partitions:            5,
		MinSessionTimeout:     time.Second,
		InitialRebalanceDelay: -1,
		TickInterval:          time.Hour,
		Now:                   clk.Now,
		NewMemberID:           func(p string) string { return fmt.Sprintf("%s-%d", p, n.Add(1)) },
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

// joinStable makes one member join group and become Stable with assignment a.
func joinStable(t *testing.T, c *Coordinator, group, client string) JoinResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := c.JoinGroup(ctx, group, jreq("", client))
	if r.Err != nil {
		t.Fatalf("join: %v", r.Err)
	}
	s := c.SyncGroup(ctx, group, SyncRequest{MemberID: r.MemberID, Generation: r.Generation,
		Assignments: map[string][]byte{r.MemberID: []byte("a")}})
	if s.Err != nil {
		t.Fatalf("sync: %v", s.Err)
	}
	return r
}

func TestCoordinatorJoinSyncAcrossGoroutines(t *testing.T) {
	clk := newFakeClock()
	c := newTestCoordinator(t, NewMemLog(), clk, func(cfg *Config) { cfg.InitialRebalanceDelay = time.Second })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	const n = 4
	results := make([]JoinResult, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = c.JoinGroup(ctx, "g", jreq("", fmt.Sprintf("c%d", i)))
		}()
	}
	// The joins are held for the initial delay; fire it once all have arrived.
	waitFor(t, func() bool {
		return c.describe(t, "g").State == PreparingRebalance && len(c.describe(t, "g").Members) == n
	})
	for range 3 {
		clk.Advance(time.Second)
		c.tick(clk.Now())
	}
	wg.Wait()
	var leader JoinResult
	for _, r := range results {
		if r.Err != nil || r.Generation != 1 {
			t.Fatalf("join %+v", r)
		}
		if r.LeaderID == r.MemberID {
			leader = r
		}
	}
	if len(leader.Members) != n {
		t.Fatalf("leader sees %d members", len(leader.Members))
	}
	plan := map[string][]byte{}
	for _, m := range leader.Members {
		plan[m.MemberID] = []byte("for " + m.MemberID)
	}
	syncs := make([]SyncResult, n)
	for i, r := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := SyncRequest{MemberID: r.MemberID, Generation: 1}
			if r.MemberID == leader.MemberID {
				req.Assignments = plan
			}
			syncs[i] = c.SyncGroup(ctx, "g", req)
		}()
	}
	wg.Wait()
	for i, s := range syncs {
		if s.Err != nil || string(s.Assignment) != "for "+results[i].MemberID {
			t.Fatalf("sync %d: %+v", i, s)
		}
	}
}

func (c *Coordinator) describe(t *testing.T, group string) Description {
	t.Helper()
	d, err := c.DescribeGroup(group)
	if err != nil && !errors.Is(err, ErrGroupNotFound) {
		t.Fatal(err)
	}
	return d
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCoordinatorRestartKeepsOffsetsAndGroups(t *testing.T) {
	clk := newFakeClock()
	log := NewMemLog()
	c := newTestCoordinator(t, log, clk, nil)
	r := joinStable(t, c, "g", "c")
	errs := c.CommitOffsets("g", CommitRequest{MemberID: r.MemberID, Generation: r.Generation, Offsets: []OffsetCommit{
		{TopicPartition{"t", 0}, 42, 3, "meta-0"},
		{TopicPartition{"t", 1}, 7, -1, ""},
	}})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if errs := c.CommitOffsets("simple", CommitRequest{Generation: -1, Offsets: []OffsetCommit{{TopicPartition{"u", 0}, 5, -1, "s"}}}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	// A tombstoned offset stays deleted after the restart.
	if errs, err := c.DeleteOffsets("simple", []TopicPartition{{"u", 0}}); err != nil || errs[0] != nil {
		t.Fatal(err, errs)
	}
	if errs := c.CommitOffsets("simple", CommitRequest{Generation: -1, Offsets: []OffsetCommit{{TopicPartition{"u", 1}, 6, -1, ""}}}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	c.Stop()

	c2 := newTestCoordinator(t, log, clk, nil)
	got, err := c2.FetchOffsets("g", nil)
	if err != nil || len(got) != 2 || got[0].Offset != 42 || got[0].LeaderEpoch != 3 || got[0].Metadata != "meta-0" || got[1].Offset != 7 {
		t.Fatalf("offsets after restart: %+v, %v", got, err)
	}
	got, _ = c2.FetchOffsets("simple", []TopicPartition{{"u", 0}, {"u", 1}})
	if got[0].Offset != -1 || got[1].Offset != 6 {
		t.Fatalf("simple group offsets after restart: %+v", got)
	}
	d := c2.describe(t, "g")
	if d.State != Stable || len(d.Members) != 1 || d.Members[0].MemberID != r.MemberID || string(d.Members[0].Assignment) != "a" {
		t.Fatalf("group after restart: %+v", d)
	}
	// The member carries on with its generation: heartbeats and commits work.
	if err := c2.Heartbeat("g", r.MemberID, "", r.Generation); err != nil {
		t.Fatalf("heartbeat after restart: %v", err)
	}
	// And without heartbeats its session ends.
	clk.Advance(10 * time.Second)
	c2.tick(clk.Now())
	if d := c2.describe(t, "g"); d.State != Empty {
		t.Fatalf("state %v after the session expired, want Empty", d.State)
	}
}

func TestCoordinatorCommitRules(t *testing.T) {
	clk := newFakeClock()
	log := NewMemLog()
	c := newTestCoordinator(t, log, clk, func(cfg *Config) { cfg.MaxMetadataSize = 4 })
	tp := TopicPartition{"t", 0}
	if errs := c.CommitOffsets("nogroup", CommitRequest{MemberID: "m", Generation: 3, Offsets: []OffsetCommit{{tp, 1, -1, ""}}}); !errors.Is(errs[0], ErrGroupNotFound) {
		t.Fatalf("commit to a missing group with a generation: %v", errs[0])
	}
	if _, err := c.DescribeGroup("nogroup"); !errors.Is(err, ErrGroupNotFound) {
		t.Fatal("refused commit created a group")
	}
	errs := c.CommitOffsets("s", CommitRequest{Generation: -1, Offsets: []OffsetCommit{{tp, 1, -1, "toolong"}, {TopicPartition{"t", 1}, 2, -1, "ok"}}})
	if !errors.Is(errs[0], ErrOffsetMetadataTooLarge) || errs[1] != nil {
		t.Fatalf("commit errors %v", errs)
	}
	log.SetFail(errors.New("disk full"))
	errs = c.CommitOffsets("s", CommitRequest{Generation: -1, Offsets: []OffsetCommit{{tp, 9, -1, ""}}})
	if !errors.Is(errs[0], ErrCoordinatorNotAvailable) {
		t.Fatalf("commit with a failing log: %v", errs[0])
	}
	log.SetFail(nil)
	if got, _ := c.FetchOffsets("s", []TopicPartition{tp}); got[0].Offset != -1 {
		t.Fatalf("a commit that was not written is visible: %+v", got)
	}
}

func TestCoordinatorStoreFailureAnswersErrorsAndRebalances(t *testing.T) {
	clk := newFakeClock()
	log := NewMemLog()
	c := newTestCoordinator(t, log, clk, nil)
	ctx := context.Background()
	r := c.JoinGroup(ctx, "g", jreq("", "c"))
	log.SetFail(errors.New("disk full"))
	s := c.SyncGroup(ctx, "g", SyncRequest{MemberID: r.MemberID, Generation: r.Generation, Assignments: map[string][]byte{r.MemberID: []byte("a")}})
	if !errors.Is(s.Err, ErrCoordinatorNotAvailable) {
		t.Fatalf("sync with a failing log: %v", s.Err)
	}
	if d := c.describe(t, "g"); d.State != PreparingRebalance {
		t.Fatalf("state %v, want PreparingRebalance", d.State)
	}
}

func TestCoordinatorDeleteAndList(t *testing.T) {
	clk := newFakeClock()
	log := NewMemLog()
	c := newTestCoordinator(t, log, clk, nil)
	r := joinStable(t, c, "active", "c")
	tp := TopicPartition{"t", 0}
	c.CommitOffsets("active", CommitRequest{MemberID: r.MemberID, Generation: r.Generation, Offsets: []OffsetCommit{{tp, 1, -1, ""}}})
	c.CommitOffsets("idle", CommitRequest{Generation: -1, Offsets: []OffsetCommit{{tp, 1, -1, ""}}})

	list, err := c.ListGroups()
	if err != nil || len(list) != 2 || list[0] != (Listing{"active", "consumer", Stable}) || list[1] != (Listing{"idle", "", Empty}) {
		t.Fatalf("list %+v %v", list, err)
	}
	errs := c.DeleteGroups([]string{"active", "idle", "missing"})
	if !errors.Is(errs[0], ErrNonEmptyGroup) || errs[1] != nil || !errors.Is(errs[2], ErrGroupNotFound) {
		t.Fatalf("delete errors %v", errs)
	}
	// OffsetDelete on an active consumer group refuses subscribed topics only.
	c.CommitOffsets("active", CommitRequest{MemberID: r.MemberID, Generation: r.Generation, Offsets: []OffsetCommit{{TopicPartition{"other", 0}, 1, -1, ""}}})
	perr, err := c.DeleteOffsets("active", []TopicPartition{tp, {"other", 0}})
	if err != nil || !errors.Is(perr[0], ErrGroupSubscribedToTopic) || perr[1] != nil {
		t.Fatalf("offset delete %v %v", perr, err)
	}
	if got, _ := c.FetchOffsets("active", nil); len(got) != 1 || got[0].TopicPartition != tp {
		t.Fatalf("offsets after delete: %+v", got)
	}
	c.Stop()
	c2 := newTestCoordinator(t, log, clk, nil)
	if list, _ := c2.ListGroups(); len(list) != 1 || list[0].Group != "active" {
		t.Fatalf("deleted group came back after restart: %+v", list)
	}
}

func TestCoordinatorOffsetRetention(t *testing.T) {
	clk := newFakeClock()
	log := NewMemLog()
	c := newTestCoordinator(t, log, clk, func(cfg *Config) { cfg.OffsetsRetention = time.Hour })
	r := joinStable(t, c, "g", "c")
	tp := TopicPartition{"t", 0}
	c.CommitOffsets("g", CommitRequest{MemberID: r.MemberID, Generation: r.Generation, Offsets: []OffsetCommit{
		{tp, 1, -1, ""}, {TopicPartition{"gone", 0}, 1, -1, ""},
	}})
	c.CommitOffsets("simple", CommitRequest{Generation: -1, Offsets: []OffsetCommit{{tp, 1, -1, ""}}})

	// Stable consumer group: only the topic it does not subscribe to expires.
	for range 7 { // heartbeat across the hour
		clk.Advance(9 * time.Minute)
		if err := c.Heartbeat("g", r.MemberID, "", r.Generation); err != nil {
			t.Fatal(err)
		}
	}
	c.expireOffsets(clk.Now())
	if got, _ := c.FetchOffsets("g", nil); len(got) != 1 || got[0].TopicPartition != tp {
		t.Fatalf("stable group offsets after an hour: %+v", got)
	}
	if _, err := c.DescribeGroup("simple"); !errors.Is(err, ErrGroupNotFound) {
		t.Fatal("simple group outlived its offsets")
	}
	// Once empty, retention counts from when it became empty.
	c.LeaveGroup("g", []LeaveMember{{MemberID: r.MemberID}})
	clk.Advance(59 * time.Minute)
	c.expireOffsets(clk.Now())
	if got, _ := c.FetchOffsets("g", nil); len(got) != 1 {
		t.Fatalf("empty group lost offsets early: %+v", got)
	}
	clk.Advance(time.Minute)
	c.expireOffsets(clk.Now())
	if _, err := c.DescribeGroup("g"); !errors.Is(err, ErrGroupNotFound) {
		t.Fatal("empty group without offsets was not removed")
	}
	c.Stop()
	c2 := newTestCoordinator(t, log, clk, nil)
	if list, _ := c2.ListGroups(); len(list) != 0 {
		t.Fatalf("expired groups came back after restart: %+v", list)
	}
}

func TestCoordinatorWaitEnds(t *testing.T) {
	clk := newFakeClock()
	c := newTestCoordinator(t, NewMemLog(), clk, func(cfg *Config) { cfg.InitialRebalanceDelay = time.Minute })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan JoinResult)
	go func() { done <- c.JoinGroup(ctx, "g", jreq("", "c")) }()
	waitFor(t, func() bool { return c.describe(t, "g").State == PreparingRebalance })
	cancel()
	if r := <-done; !errors.Is(r.Err, context.Canceled) {
		t.Fatalf("cancelled join: %v", r.Err)
	}
	go func() { done <- c.JoinGroup(context.Background(), "g2", jreq("", "c")) }()
	waitFor(t, func() bool { return c.describe(t, "g2").State == PreparingRebalance })
	c.Stop()
	if r := <-done; !errors.Is(r.Err, ErrNotCoordinator) {
		t.Fatalf("join during stop: %v", r.Err)
	}
	if err := c.Heartbeat("g", "m", "", 1); !errors.Is(err, ErrNotCoordinator) {
		t.Fatalf("heartbeat after stop: %v", err)
	}
}

func TestPartitionFor(t *testing.T) {
	tests := []struct {
		key  string
		hash int32
		want int32
	}{
		{"", 0, 0},
		{"abc", 96354, 96354 % 50},
		{"hello", 99162322, 99162322 % 50},
		{"polygenelubricants", -2147483648, 0}, // Java's hashCode is MinInt32: abs gives 0
		{"group-negative", -1607370813, 13},
		{"😀", 1772899, 1772899 % 50}, // a surrogate pair hashes as two UTF-16 units
	}
	for _, tc := range tests {
		if got := javaStringHash(tc.key); got != tc.hash {
			t.Errorf("hash(%q) = %d, want %d", tc.key, got, tc.hash)
		}
		if got := PartitionFor(tc.key, 50); got != tc.want {
			t.Errorf("PartitionFor(%q) = %d, want %d", tc.key, got, tc.want)
		}
	}
}
