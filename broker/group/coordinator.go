package group

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Log is the coordinator's view of __consumer_offsets, implemented by the broker on
// top of its partition logs. Partitions are 0..Config.Partitions-1.
type Log interface {
	// Append writes one record batch to partition and returns once it is as durable
	// as an acks=all produce. It returns an error wrapping ErrNotCoordinator when this
	// node no longer leads the partition.
	Append(partition int32, batch []byte) error
	// Replay calls fn with every batch of partition, oldest first, and stops at the
	// first error fn returns.
	Replay(partition int32, fn func(batch []byte) error) error
}

// Coordinator serves the classic group protocol and committed offsets for the
// groups whose __consumer_offsets partition this node leads (all of them on a
// single node).
//
// Concurrency: groups are sharded by their __consumer_offsets partition, and each
// shard has a mutex that serializes its state machines, the appends to its
// partition and the bookkeeping of held replies. A caller locks the shard, steps
// the group, appends what must be durable, hands out released replies, unlocks,
// and then waits for its own reply on a channel together with its context. One
// goroutine, started by Start and stopped by Stop, ticks the deadlines.
type Coordinator struct {
	cfg    Config
	set    Settings
	log    Log
	shards []*shard
	waiter atomic.Uint64

	mu      sync.Mutex // guards started and stopped
	started bool
	stopped bool
	stop    chan struct{}
	done    chan struct{}
}

// shard is one partition of __consumer_offsets and the groups it holds.
type shard struct {
	partition int32
	mu        sync.Mutex
	loaded    bool
	// disowned: another node leads the partition now (UnloadPartition).
	disowned bool
	groups   map[string]*Group
	waiters  map[Waiter]chan Reply
	// pending holds the offsets of open transactions by producer id (txn.go).
	pending map[int64][]pendingOffset
}

// New validates cfg (after EnsureDefaults) and returns a coordinator that serves
// nothing until Start has loaded its partitions.
func New(cfg Config, log Log) (*Coordinator, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("group coordinator config: %w", err)
	}
	c := &Coordinator{
		cfg:  cfg,
		set:  cfg.settings(),
		log:  log,
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	for p := range cfg.Partitions {
		c.shards = append(c.shards, &shard{partition: p, groups: map[string]*Group{}, waiters: map[Waiter]chan Reply{},
			pending: map[int64][]pendingOffset{}})
	}
	return c, nil
}

// Start loads every partition of __consumer_offsets and starts the ticker. ctx
// bounds the loading only.
func (c *Coordinator) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started {
		return errors.New("group coordinator: already started")
	}
	for _, s := range c.shards {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("load %s: %w", OffsetsTopic, err)
		}
		if err := c.load(s); err != nil {
			return err
		}
	}
	c.started = true
	go c.run()
	return nil
}

// load replays one partition into its shard.
func (c *Coordinator) load(s *shard) error {
	l := newLoader()
	if err := c.log.Replay(s.partition, l.batch); err != nil {
		return fmt.Errorf("load %s-%d: %w", OffsetsTopic, s.partition, err)
	}
	if l.skipped > 0 {
		c.cfg.Logger.Warn("skipped undecodable records while loading groups",
			"partition", s.partition, "count", l.skipped, "first", l.firstErr)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups = l.groups(&c.set, c.cfg.Now())
	s.pending = l.pendingFromLoad()
	s.loaded = true
	return nil
}

// Stop stops the ticker and waits for it, then unloads every group: held requests
// are answered with ErrNotCoordinator. Safe to call more than once, and without Start.
func (c *Coordinator) Stop() {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	c.stopped = true
	started := c.started
	close(c.stop)
	c.mu.Unlock()
	if started {
		<-c.done
	}
	now := c.cfg.Now()
	for _, s := range c.shards {
		s.mu.Lock()
		for _, g := range s.groups {
			c.deliver(s, g.Unload(now).Replies)
		}
		s.groups = map[string]*Group{}
		s.pending = map[int64][]pendingOffset{}
		s.loaded = false
		s.mu.Unlock()
	}
}

// run ticks deadlines until Stop.
func (c *Coordinator) run() {
	defer close(c.done)
	t := time.NewTicker(c.cfg.TickInterval)
	defer t.Stop()
	lastExpiry := c.cfg.Now()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			now := c.cfg.Now()
			c.tick(now)
			if now.Sub(lastExpiry) >= c.cfg.RetentionCheckInterval {
				c.expireOffsets(now)
				lastExpiry = now
			}
		}
	}
}

// tick fires the deadlines of every group at now.
func (c *Coordinator) tick(now time.Time) {
	for _, s := range c.shards {
		s.mu.Lock()
		for _, g := range s.groups {
			c.apply(s, g, now, g.Tick(now))
			s.dropIfUnused(g)
		}
		s.mu.Unlock()
	}
}

// Partition returns the __consumer_offsets partition that holds group.
func (c *Coordinator) Partition(group string) int32 { return PartitionFor(group, c.cfg.Partitions) }

// lock returns group's shard, locked, or the error a client should retry on.
func (c *Coordinator) lock(group string) (*shard, error) {
	s := c.shards[c.Partition(group)]
	s.mu.Lock()
	if !s.loaded {
		disowned := s.disowned
		s.mu.Unlock()
		if disowned {
			return nil, ErrNotCoordinator
		}
		c.mu.Lock()
		stopped := c.stopped
		c.mu.Unlock()
		if stopped {
			return nil, ErrNotCoordinator
		}
		return nil, ErrLoadInProgress
	}
	return s, nil
}

// dropIfUnused forgets a group that holds nothing worth keeping: never persisted
// (generation 0), no members, no pending members, no offsets. Failed first joins
// leave such groups behind.
func (s *shard) dropIfUnused(g *Group) {
	if g.state == Empty && g.generation == 0 && len(g.members) == 0 && len(g.pending) == 0 && len(g.offsets) == 0 {
		delete(s.groups, g.id)
	}
}

func (c *Coordinator) newWaiter(s *shard) (Waiter, chan Reply) {
	w := Waiter(c.waiter.Add(1))
	ch := make(chan Reply, 1)
	s.waiters[w] = ch
	return w, ch
}

// wait blocks until the reply for w arrives, ctx ends or the coordinator stops.
func (c *Coordinator) wait(ctx context.Context, s *shard, w Waiter, ch chan Reply) (Reply, error) {
	select {
	case r := <-ch:
		return r, nil
	case <-ctx.Done():
		s.mu.Lock()
		delete(s.waiters, w)
		s.mu.Unlock()
		// The caller is going away (its connection or the server is closing): a
		// retriable answer sends the client to find the coordinator again.
		return Reply{}, fmt.Errorf("wait for group reply: %w (%w)", ErrNotCoordinator, ctx.Err())
	case <-c.stop:
		return Reply{}, ErrNotCoordinator
	}
}

// apply carries out a step's effects with s locked: store the group if asked, then
// release the replies. If the store fails the replies become errors and the group
// rebalances.
func (c *Coordinator) apply(s *shard, g *Group, now time.Time, eff Effects) {
	if eff.Store {
		if err := c.append(s, now, []kv{groupRecord(g)}); err != nil {
			c.cfg.Logger.Warn("store group metadata failed", "group", g.id, "err", err)
			err = storeError(err)
			for i, r := range eff.Replies {
				if r.Join != nil {
					eff.Replies[i].Join = &JoinResult{Err: err, MemberID: r.Join.MemberID, Generation: -1}
				} else {
					eff.Replies[i].Sync = &SyncResult{Err: err}
				}
			}
			c.deliver(s, eff.Replies)
			c.apply(s, g, now, g.StoreFailed(now))
			return
		}
	}
	c.deliver(s, eff.Replies)
}

// deliver hands replies to their waiting callers. Replies for callers that gave up
// are dropped.
func (c *Coordinator) deliver(s *shard, replies []Reply) {
	for _, r := range replies {
		if ch, ok := s.waiters[r.To]; ok {
			delete(s.waiters, r.To)
			ch <- r
		}
	}
}

// append writes records to the shard's partition as one batch.
func (c *Coordinator) append(s *shard, now time.Time, recs []kv) error {
	b, err := buildBatch(now, recs)
	if err != nil {
		return err
	}
	if err := c.log.Append(s.partition, b); err != nil {
		return fmt.Errorf("append to %s-%d: %w", OffsetsTopic, s.partition, err)
	}
	return nil
}

// storeError is what clients see when a write to __consumer_offsets failed: a
// retriable coordinator error.
func storeError(err error) error {
	if errors.Is(err, ErrNotCoordinator) || errors.Is(err, ErrCoordinatorNotAvailable) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrCoordinatorNotAvailable, err)
}

// JoinGroup handles JoinGroup, waiting while the rebalance completes or until ctx ends.
func (c *Coordinator) JoinGroup(ctx context.Context, group string, req JoinRequest) JoinResult {
	fail := func(err error) JoinResult { return JoinResult{Err: err, MemberID: req.MemberID, Generation: -1} }
	if group == "" {
		return fail(ErrInvalidGroupID)
	}
	s, err := c.lock(group)
	if err != nil {
		return fail(err)
	}
	now := c.cfg.Now()
	g := s.groups[group]
	if g == nil {
		if req.MemberID != "" {
			s.mu.Unlock()
			return fail(ErrUnknownMemberID)
		}
		g = NewGroup(group, &c.set, now)
		s.groups[group] = g
	}
	w, ch := c.newWaiter(s)
	c.apply(s, g, now, g.Join(now, w, req))
	s.dropIfUnused(g)
	s.mu.Unlock()
	r, err := c.wait(ctx, s, w, ch)
	if err != nil {
		return fail(err)
	}
	return *r.Join
}

// SyncGroup handles SyncGroup, waiting for the leader's assignment or until ctx ends.
func (c *Coordinator) SyncGroup(ctx context.Context, group string, req SyncRequest) SyncResult {
	if group == "" {
		return SyncResult{Err: ErrInvalidGroupID}
	}
	s, err := c.lock(group)
	if err != nil {
		return SyncResult{Err: err}
	}
	g := s.groups[group]
	if g == nil {
		s.mu.Unlock()
		return SyncResult{Err: ErrUnknownMemberID}
	}
	now := c.cfg.Now()
	w, ch := c.newWaiter(s)
	c.apply(s, g, now, g.Sync(now, w, req))
	s.mu.Unlock()
	r, err := c.wait(ctx, s, w, ch)
	if err != nil {
		return SyncResult{Err: err}
	}
	return *r.Sync
}

// Heartbeat handles Heartbeat.
func (c *Coordinator) Heartbeat(group, memberID, instanceID string, generation int32) error {
	if group == "" {
		return ErrInvalidGroupID
	}
	s, err := c.lock(group)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	g := s.groups[group]
	if g == nil {
		return ErrUnknownMemberID
	}
	return g.Heartbeat(c.cfg.Now(), memberID, instanceID, generation)
}

// LeaveGroup handles LeaveGroup: one error per member, or an error for the whole request.
func (c *Coordinator) LeaveGroup(group string, members []LeaveMember) ([]error, error) {
	if group == "" {
		return nil, ErrInvalidGroupID
	}
	s, err := c.lock(group)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	g := s.groups[group]
	if g == nil {
		errs := make([]error, len(members))
		for i := range errs {
			errs[i] = ErrUnknownMemberID
		}
		return errs, nil
	}
	now := c.cfg.Now()
	errs, eff := g.Leave(now, members)
	c.apply(s, g, now, eff)
	s.dropIfUnused(g)
	return errs, nil
}
