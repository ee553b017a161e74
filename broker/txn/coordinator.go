package txn

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Log is the coordinator's view of __transaction_state, implemented by the broker
// on top of its partition logs. Partitions are 0..Config.Partitions-1.
type Log interface {
	// Append writes one record batch to partition and returns once it is as
	// durable as an acks=all produce. It returns an error wrapping
	// ErrNotCoordinator when this node no longer leads the partition.
	Append(partition int32, batch []byte) error
	// Replay calls fn with every batch of partition, oldest first, and stops at
	// the first error fn returns.
	Replay(partition int32, fn func(batch []byte) error) error
}

// LeaderEpochs is an optional capability of a Log: the leader epoch of a
// partition, written into markers as the coordinator epoch. Without it markers
// carry 0.
type LeaderEpochs interface {
	LeaderEpoch(partition int32) int32
}

// MarkerWriter writes transaction markers into the partitions of a transaction.
type MarkerWriter interface {
	// WriteMarker appends m's control batch to tp and returns once it is as
	// durable as an acks=all produce. A partition whose topic was deleted counts
	// as written. Writing the same marker twice must be harmless (the producer
	// has no open transaction the second time).
	WriteMarker(tp TopicPartition, m Marker) error
}

// MarkersWriter is an optional capability of a MarkerWriter: the same marker
// written to every partition of a transaction at once, so a cluster sends one
// request per destination broker and waits for them together. It returns one
// error per partition, in order, with WriteMarker's meaning.
type MarkersWriter interface {
	WriteMarkers(tps []TopicPartition, m Marker) []error
}

// Coordinator is the transaction coordinator for the transactional ids whose
// __transaction_state partition this node leads (all of them on a single node).
//
// Concurrency: transactional ids are sharded by their partition of
// __transaction_state; each shard's mutex serializes its state machines, the
// writes to its partition and the markers of its transactions. A request locks
// its shard, steps the Txn, stores the next state, installs it, and unlocks. One
// goroutine, started by Start and stopped by Stop, aborts timed-out transactions,
// retries failed markers and removes expired ids.
type Coordinator struct {
	cfg     Config
	log     Log
	markers MarkerWriter
	ids     *IDManager
	shards  []*shard

	mu      sync.Mutex // guards started and stopped
	started bool
	stopped bool
	stop    chan struct{}
	done    chan struct{}
}

// shard is one partition of __transaction_state and the ids it holds.
type shard struct {
	partition int32
	mu        sync.Mutex
	loaded    bool
	// disowned: another node leads the partition now (UnloadPartition).
	disowned bool
	txns     map[string]Txn
}

// New validates cfg (after EnsureDefaults) and returns a coordinator that serves
// nothing until Start has loaded its partitions. ids hands out producer ids, to
// transactional and idempotent producers alike.
func New(cfg Config, log Log, markers MarkerWriter, ids *IDManager) (*Coordinator, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("transaction coordinator config: %w", err)
	}
	c := &Coordinator{
		cfg:     cfg,
		log:     log,
		markers: markers,
		ids:     ids,
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	for p := range cfg.Partitions {
		c.shards = append(c.shards, &shard{partition: p, txns: map[string]Txn{}})
	}
	return c, nil
}

// Start loads every partition of __transaction_state, completes the
// transactions that were deciding (PrepareCommit, PrepareAbort: their markers are
// written again) and starts the background goroutine. Open transactions stay
// open; their timeout still runs from when they started. ctx bounds the loading.
func (c *Coordinator) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started || c.stopped {
		return errors.New("transaction coordinator: already started or stopped")
	}
	for _, s := range c.shards {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("load %s: %w", StateTopic, err)
		}
		if err := c.load(s); err != nil {
			return err
		}
	}
	now := c.cfg.Now()
	for _, s := range c.shards {
		s.mu.Lock()
		c.finishPrepared(s, now)
		s.mu.Unlock()
	}
	c.started = true
	go c.run()
	return nil
}

// load replays one partition into its shard.
func (c *Coordinator) load(s *shard) error {
	l := newLoader()
	if err := c.log.Replay(s.partition, l.batch); err != nil {
		return fmt.Errorf("load %s-%d: %w", StateTopic, s.partition, err)
	}
	if l.skipped > 0 {
		c.cfg.Logger.Warn("skipped undecodable transaction state records",
			"partition", s.partition, "count", l.skipped, "first", l.firstErr)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.txns = l.txns
	s.loaded = true
	return nil
}

// Stop stops the background goroutine and waits for it, then unloads every
// shard: later requests get ErrNotCoordinator. Safe to call more than once, and
// without Start.
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
	for _, s := range c.shards {
		s.mu.Lock()
		s.txns = map[string]Txn{}
		s.loaded = false
		s.mu.Unlock()
	}
}

// run does the periodic work until Stop.
func (c *Coordinator) run() {
	defer close(c.done)
	t := time.NewTicker(c.cfg.AbortTimedOutInterval)
	defer t.Stop()
	lastExpiry := c.cfg.Now()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			now := c.cfg.Now()
			c.Tick(now)
			if now.Sub(lastExpiry) >= c.cfg.RemoveExpiredInterval {
				c.RemoveExpired(now)
				lastExpiry = now
			}
		}
	}
}

// Tick retries the markers of transactions still deciding and aborts open
// transactions past their timeout at now, fencing their producers. The
// background goroutine calls it every AbortTimedOutInterval; tests call it directly.
func (c *Coordinator) Tick(now time.Time) {
	for _, s := range c.shards {
		s.mu.Lock()
		if s.loaded {
			c.finishPrepared(s, now)
			for id, t := range s.txns {
				if !t.TimedOut(now) {
					continue
				}
				c.cfg.Logger.Info("aborting timed-out transaction", "transactional_id", id,
					"producer_id", t.ProducerID, "epoch", t.Epoch, "timeout", t.Timeout)
				if _, err := c.fenceAndAbort(s, t, now); err != nil {
					c.cfg.Logger.Warn("abort of timed-out transaction failed; will retry", "transactional_id", id, "err", err)
				}
			}
		}
		s.mu.Unlock()
	}
}

// RemoveExpired removes the transactional ids idle past
// transactional.id.expiration.ms at now (a tombstone each).
func (c *Coordinator) RemoveExpired(now time.Time) {
	for _, s := range c.shards {
		s.mu.Lock()
		if s.loaded {
			for id, t := range s.txns {
				next, ok := t.Expire(now, c.cfg.TransactionalIDExpiration)
				if !ok {
					continue
				}
				if err := c.store(s, next, now); err != nil {
					c.cfg.Logger.Warn("remove expired transactional id failed", "transactional_id", id, "err", err)
					continue
				}
				delete(s.txns, id)
			}
		}
		s.mu.Unlock()
	}
}

// finishPrepared writes the markers of every transaction of s that is deciding.
// REQUIRES: s.mu.
func (c *Coordinator) finishPrepared(s *shard, now time.Time) {
	for id, t := range s.txns {
		if t.State != PrepareCommit && t.State != PrepareAbort {
			continue
		}
		if _, err := c.complete(s, t, now); err != nil {
			c.cfg.Logger.Warn("transaction markers failed; will retry", "transactional_id", id, "state", t.State.String(), "err", err)
		}
	}
}

// Partition returns the partition of __transaction_state that holds id.
func (c *Coordinator) Partition(id string) int32 { return PartitionFor(id, c.cfg.Partitions) }

// lock returns id's shard, locked, or the error a client should retry on.
func (c *Coordinator) lock(id string) (*shard, error) {
	s := c.shards[c.Partition(id)]
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

// store writes t's record (a tombstone for Dead) to the shard's partition.
// REQUIRES: s.mu.
func (c *Coordinator) store(s *shard, t Txn, now time.Time) error {
	b, err := buildBatch(now, []kv{txnRecord(t)})
	if err != nil {
		return err
	}
	if err := c.log.Append(s.partition, b); err != nil {
		err = fmt.Errorf("append to %s-%d: %w", StateTopic, s.partition, err)
		if errors.Is(err, ErrNotCoordinator) {
			return err
		}
		return fmt.Errorf("%w: %w", ErrCoordinatorNotAvailable, err)
	}
	return nil
}

// install stores next and makes it the current state.
// REQUIRES: s.mu.
func (c *Coordinator) install(s *shard, next Txn, now time.Time) error {
	if err := c.store(s, next, now); err != nil {
		return err
	}
	s.txns[next.ID] = next
	return nil
}

// complete writes t's markers to every partition of the transaction and then
// stores the completed state. t must be PrepareCommit or PrepareAbort (stored).
// On a marker failure t stays prepared and the error is returned; Tick retries.
// REQUIRES: s.mu.
func (c *Coordinator) complete(s *shard, t Txn, now time.Time) (Txn, error) {
	m := Marker{ProducerID: t.ProducerID, ProducerEpoch: t.Epoch, Commit: t.State == PrepareCommit}
	if le, ok := c.log.(LeaderEpochs); ok {
		m.CoordinatorEpoch = le.LeaderEpoch(s.partition)
	}
	var errs []error
	if mw, ok := c.markers.(MarkersWriter); ok {
		for i, err := range mw.WriteMarkers(t.Partitions, m) {
			if err != nil {
				tp := t.Partitions[i]
				errs = append(errs, fmt.Errorf("marker to %s-%d: %w", tp.Topic, tp.Partition, err))
			}
		}
	} else {
		for _, tp := range t.Partitions {
			if err := c.markers.WriteMarker(tp, m); err != nil {
				errs = append(errs, fmt.Errorf("marker to %s-%d: %w", tp.Topic, tp.Partition, err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return t, err
	}
	next, err := t.Complete(now)
	if err != nil {
		return t, err
	}
	if err := c.install(s, next, now); err != nil {
		return t, err
	}
	return next, nil
}

// fenceAndAbort aborts t's open transaction as the coordinator: the epoch is
// bumped (fencing the producer), PrepareAbort stored, markers written.
// REQUIRES: s.mu.
func (c *Coordinator) fenceAndAbort(s *shard, t Txn, now time.Time) (Txn, error) {
	fenced, err := t.Fence(now)
	if err != nil {
		return t, err
	}
	next, err := fenced.EndTxn(now, fenced.ProducerID, fenced.Epoch, false, false)
	if err != nil {
		return t, err
	}
	if err := c.install(s, next, now); err != nil {
		return t, err
	}
	return c.complete(s, next, now)
}

// settle finishes t when it is still deciding (its markers failed before), so a
// request sees a settled transaction; it returns the current state.
// REQUIRES: s.mu.
func (c *Coordinator) settle(s *shard, t Txn, now time.Time) (Txn, error) {
	if t.State != PrepareCommit && t.State != PrepareAbort {
		return t, nil
	}
	next, err := c.complete(s, t, now)
	if err != nil {
		return t, fmt.Errorf("transactional id %q is still %s (%v): %w", t.ID, t.State, err, ErrConcurrentTransactions)
	}
	return next, nil
}

// NewProducerID returns a producer id for an idempotent producer without a
// transactional id (epoch 0).
func (c *Coordinator) NewProducerID() (int64, error) { return c.ids.Next() }

// InitProducerID handles InitProducerId for a transactional id: it returns the
// producer id and epoch the producer must use. An open transaction of the id is
// aborted first, which fences the previous producer.
func (c *Coordinator) InitProducerID(id string, req InitRequest) (int64, int16, error) {
	if id == "" {
		return -1, -1, ErrInvalidTransactionalID
	}
	if req.Timeout <= 0 || req.Timeout > c.cfg.MaxTimeout {
		return -1, -1, fmt.Errorf("timeout %v, transaction.max.timeout.ms is %v: %w", req.Timeout, c.cfg.MaxTimeout, ErrInvalidTransactionTimeout)
	}
	s, err := c.lock(id)
	if err != nil {
		return -1, -1, err
	}
	defer s.mu.Unlock()
	now := c.cfg.Now()
	t, ok := s.txns[id]
	if !ok {
		pid, err := c.ids.Next()
		if err != nil {
			return -1, -1, err
		}
		t = NewTxn(id, pid, now)
	}
	for range 2 {
		if t, err = c.settle(s, t, now); err != nil {
			return -1, -1, err
		}
		next, err := t.InitProducerID(now, req, c.ids.Next)
		if err != nil {
			return -1, -1, err
		}
		if next.State == PrepareEpochFence {
			// An open transaction: abort it (bumping the epoch), then bump again.
			if t, err = c.fenceAndAbort(s, t, now); err != nil {
				return -1, -1, fmt.Errorf("abort the open transaction of %q first: %v: %w", id, err, ErrConcurrentTransactions)
			}
			continue
		}
		if err := c.install(s, next, now); err != nil {
			return -1, -1, err
		}
		return next.ProducerID, next.Epoch, nil
	}
	return -1, -1, fmt.Errorf("transactional id %q: %w", id, ErrConcurrentTransactions)
}

// AddPartitions handles AddPartitionsToTxn (and AddOffsetsToTxn, whose partition
// is the group's partition of __consumer_offsets): it opens the transaction if
// none is open and records the partitions before the producer writes to them.
func (c *Coordinator) AddPartitions(id string, pid int64, epoch int16, parts []TopicPartition) error {
	if id == "" {
		return ErrInvalidTransactionalID
	}
	s, err := c.lock(id)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	t, ok := s.txns[id]
	if !ok {
		return fmt.Errorf("transactional id %q is unknown: %w", id, ErrInvalidProducerIDMapping)
	}
	now := c.cfg.Now()
	if t, err = c.settle(s, t, now); err != nil {
		return err
	}
	next, changed, err := t.AddPartitions(now, pid, epoch, parts)
	if err != nil || !changed {
		return err
	}
	return c.install(s, next, now)
}

// EndTxn handles EndTxn: the decision is stored (PrepareCommit or PrepareAbort),
// markers are written to every partition of the transaction, and the completed
// state is stored. Once the decision is stored the answer is success: markers
// that failed are retried in the background, and the id refuses a new
// transaction (CONCURRENT_TRANSACTIONS) until they are written.
func (c *Coordinator) EndTxn(id string, pid int64, epoch int16, commit bool) error {
	if id == "" {
		return ErrInvalidTransactionalID
	}
	s, err := c.lock(id)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	t, ok := s.txns[id]
	if !ok {
		return fmt.Errorf("transactional id %q is unknown: %w", id, ErrInvalidProducerIDMapping)
	}
	now := c.cfg.Now()
	if settled, err := c.settle(s, t, now); err == nil {
		t = settled
	}
	next, err := t.EndTxn(now, pid, epoch, commit, true)
	if err != nil {
		return err
	}
	if next.State == t.State {
		return nil // a retry of a completed EndTxn
	}
	if err := c.install(s, next, now); err != nil {
		return err
	}
	if _, err := c.complete(s, next, now); err != nil {
		c.cfg.Logger.Warn("transaction markers failed; will retry", "transactional_id", id, "state", next.State.String(), "err", err)
	}
	return nil
}
