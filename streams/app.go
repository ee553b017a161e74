package streams

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// App runs a topology as one instance of an application. Instances with the
// same ApplicationID share the work through the consumer group.
type App struct {
	cfg Config
	top *Topology

	// topicSub maps each input topic (broker name) to its sub-topology;
	// partitions holds the partition count of every topic the App reads or
	// writes, learned when it starts.
	topicSub   map[string]*subTopology
	partitions map[string]int32

	// owned is the group's current assignment, written by kgo's callbacks
	// and read by the processing loop, under ownMu.
	ownMu sync.Mutex
	owned map[taskID]bool

	// mu guards tasks and restores: the processing loop holds it while it
	// works on tasks, interactive queries while they read.
	mu       sync.Mutex
	tasks    map[taskID]*taskCtx
	restores map[string]*RestoreStatus

	stats appStats
	// produceErr keeps the first failed write of the current transaction.
	produceErr atomic.Pointer[error]
	roundRobin uint32
	// cl is the processing client while Run runs.
	cl *kgo.Client
}

type appStats struct {
	processed, commits, aborts, late, restored atomic.Int64
}

// Stats are counters of one App since it started.
type Stats struct {
	// Processed counts input records processed (including repeats after
	// an aborted transaction).
	Processed int64
	// Commits and Aborts count transactions (or offset commit cycles).
	Commits, Aborts int64
	// Late counts records windowed operators dropped as too late.
	Late int64
	// Restored counts changelog records applied while restoring stores.
	Restored int64
	// Tasks is the number of tasks the instance runs now.
	Tasks int
}

// RestoreStatus is the restore progress of one store of one task.
type RestoreStatus struct {
	Store     string
	Partition int32
	// Restored and Total are changelog records (offsets) applied and to
	// apply; Done is set once the store caught up.
	Restored, Total int64
	Done            bool
}

// New checks cfg and returns an App; Run starts it.
func New(top *Topology, cfg Config) (*App, error) {
	cfg.ensureDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, top: top, topicSub: map[string]*subTopology{}, owned: map[taskID]bool{},
		tasks: map[taskID]*taskCtx{}, restores: map[string]*RestoreStatus{}}
	for _, s := range top.subs {
		for _, t := range s.topics(cfg.ApplicationID) {
			a.topicSub[t] = s
		}
	}
	return a, nil
}

// Stats returns the App's counters.
func (a *App) Stats() Stats {
	a.mu.Lock()
	n := len(a.tasks)
	a.mu.Unlock()
	return Stats{Processed: a.stats.processed.Load(), Commits: a.stats.commits.Load(), Aborts: a.stats.aborts.Load(),
		Late: a.stats.late.Load(), Restored: a.stats.restored.Load(), Tasks: n}
}

// RestoreProgress lists the restore state of every store the instance has
// restored or is restoring, for tasks it owns now or owned before.
func (a *App) RestoreProgress() []RestoreStatus {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]RestoreStatus, 0, len(a.restores))
	for _, r := range a.restores {
		out = append(out, *r)
	}
	return out
}

// txnClient is what the loop needs from kgo in either mode.
type txnClient struct {
	cl   *kgo.Client
	sess *kgo.GroupTransactSession // nil without exactly-once
	in   bool                      // a transaction is open
}

// Run processes until ctx is done (then it commits the open work, leaves
// the group and returns nil) or a fatal error. A fenced instance drops its
// tasks and returns an error wrapping ErrFenced.
func (a *App) Run(ctx context.Context) error {
	err := a.run(ctx)
	if err != nil && isFenced(err) && !errors.Is(err, ErrFenced) {
		err = fmt.Errorf("%w: %w", ErrFenced, err)
	}
	return err
}

// run is Run without the classification of its error; its deferred clean-up
// drops every task, so a fenced instance keeps nothing.
func (a *App) run(ctx context.Context) error {
	if err := a.ensureTopics(ctx); err != nil {
		return err
	}
	tc, err := a.newClient()
	if err != nil {
		return err
	}
	a.cl = tc.cl
	if tc.sess != nil {
		// Initialize the producer id now, before any task restores: it
		// fences this instance's previous incarnation and aborts its open
		// transaction, whose changelog writes a restore would otherwise
		// wait on until the broker timed the transaction out.
		if _, _, err := tc.cl.ProducerID(ctx); err != nil {
			return fmt.Errorf("initialize transactional producer: %w", err)
		}
	}
	// clean is set when the last work was committed on the way out: then
	// on-disk stores keep their contents and checkpoints for the next start.
	clean := false
	defer func() {
		a.dropTasks(clean)
		if tc.sess != nil {
			tc.sess.Close()
		} else {
			tc.cl.Close()
		}
	}()
	lastCommit := a.cfg.Clock.Now()
	for {
		if ctx.Err() != nil {
			err := a.commit(context.Background(), tc)
			if errors.Is(err, ErrFenced) {
				return err
			}
			clean = err == nil && !tc.in
			return nil
		}
		if err := a.reconcile(ctx, tc); err != nil {
			if ctx.Err() != nil {
				continue
			}
			return err
		}
		wait := a.cfg.CommitInterval - a.cfg.Clock.Now().Sub(lastCommit)
		if wait < time.Millisecond {
			wait = time.Millisecond
		}
		pctx, cancel := context.WithTimeout(ctx, wait)
		var fs kgo.Fetches
		if tc.sess != nil {
			fs = tc.sess.PollRecords(pctx, a.cfg.MaxPollRecords)
		} else {
			fs = tc.cl.PollRecords(pctx, a.cfg.MaxPollRecords)
		}
		cancel()
		if fs.IsClientClosed() {
			return ErrClosed
		}
		var fenced error
		fs.EachError(func(t string, p int32, err error) {
			if isFenced(err) && fenced == nil {
				fenced = err
			}
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				a.cfg.Logger.Warn("fetch error", "topic", t, "partition", p, "err", err)
			}
		})
		if fenced != nil {
			// Another instance joined with this instance id
			// (FENCED_INSTANCE_ID from the group): fatal, as for the Java
			// client. Rejoining would fence the other in turn, and an
			// instance that holds no task at the moment never meets the
			// transactional fence on its own.
			return fmt.Errorf("%w: %w", ErrFenced, fenced)
		}
		if err := a.processFetches(ctx, tc, fs); err != nil {
			return err
		}
		if now := a.cfg.Clock.Now(); now.Sub(lastCommit) >= a.cfg.CommitInterval {
			if err := a.commit(ctx, tc); err != nil {
				return err
			}
			lastCommit = now
		}
	}
}

// processFetches runs the polled records and the wall-clock punctuators.
func (a *App) processFetches(ctx context.Context, tc *txnClient, fs kgo.Fetches) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	var firstErr error
	fs.EachRecord(func(r *kgo.Record) {
		if firstErr != nil {
			return
		}
		if err := a.begin(tc); err != nil {
			firstErr = err
			return
		}
		sub, ok := a.topicSub[r.Topic]
		if !ok {
			return
		}
		id := taskID{sub.id, r.Partition}
		t, ok := a.tasks[id]
		if !ok {
			var err error
			if t, err = a.openTask(ctx, tc, id); err != nil {
				firstErr = err
				return
			}
		}
		a.stats.processed.Add(1)
		late := t.stats.late
		if err := t.process(r.Topic, r.Key, r.Value, r.Timestamp.UnixMilli()); err != nil {
			firstErr = err
		}
		a.stats.late.Add(t.stats.late - late)
	})
	if firstErr != nil {
		return firstErr
	}
	now := a.cfg.Clock.Now().UnixMilli()
	for _, t := range a.tasks {
		if !hasPunct(t, WallClockTime) {
			continue
		}
		if err := a.begin(tc); err != nil {
			return err
		}
		if err := t.punctuate(WallClockTime, now); err != nil {
			return err
		}
	}
	return nil
}

func hasPunct(t *taskCtx, kind PunctuationType) bool {
	for _, p := range t.punct {
		if p.kind == kind {
			return true
		}
	}
	return false
}

// begin opens a transaction if none is open (exactly-once only).
func (a *App) begin(tc *txnClient) error {
	if tc.sess == nil || tc.in {
		return nil
	}
	if err := tc.sess.Begin(); err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	tc.in = true
	return nil
}

// commit flushes the stores' changelogs and commits the interval's work.
func (a *App) commit(ctx context.Context, tc *txnClient) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if tc.sess == nil {
		return a.commitAtLeastOnce(ctx, tc)
	}
	if !tc.in {
		return nil
	}
	for _, t := range a.tasks {
		t.flush()
	}
	try := kgo.TryCommit
	if p := a.produceErr.Load(); p != nil {
		a.cfg.Logger.Warn("a write of the transaction failed; aborting", "err", *p)
		try = kgo.TryAbort
	}
	committed, err := tc.sess.End(ctx, try)
	tc.in = false
	a.produceErr.Store(nil)
	if err == nil && committed {
		a.stats.commits.Add(1)
		a.cfg.Logger.Debug("committed", "tasks", len(a.tasks))
		for _, t := range a.tasks {
			if err := t.committed(); err != nil {
				return err
			}
		}
		return nil
	}
	// The tasks hold writes that never committed: drop them all and
	// restore from the changelogs when they are needed again.
	a.stats.aborts.Add(1)
	a.cfg.Logger.Info("transaction aborted; dropping tasks to restore them", "tasks", len(a.tasks), "err", err)
	a.dropTasksLocked(false)
	if err != nil && isFenced(err) {
		return fmt.Errorf("%w: %w", ErrFenced, err)
	}
	if err != nil {
		a.cfg.Logger.Warn("transaction ended with an error; state dropped and restored", "err", err)
	}
	return nil
}

func (a *App) commitAtLeastOnce(ctx context.Context, tc *txnClient) error {
	for _, t := range a.tasks {
		t.flush()
	}
	if err := tc.cl.Flush(ctx); err != nil {
		return fmt.Errorf("flush writes: %w", err)
	}
	if p := a.produceErr.Load(); p != nil {
		return fmt.Errorf("a write failed, offsets not committed: %w", *p)
	}
	if err := tc.cl.CommitUncommittedOffsets(ctx); err != nil {
		a.cfg.Logger.Warn("offset commit failed", "err", err)
	} else {
		a.stats.commits.Add(1)
		for _, t := range a.tasks {
			if err := t.committed(); err != nil {
				return err
			}
		}
	}
	tc.cl.AllowRebalance()
	return nil
}

// isFenced reports whether err means a newer producer or group generation
// took over this instance's work.
func isFenced(err error) bool {
	return errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch) ||
		errors.Is(err, kerr.FencedInstanceID) || errors.Is(err, kerr.TransactionalIDAuthorizationFailed)
}

// sender for the processing client: records go out asynchronously inside
// the open transaction; the first failure is kept for commit.
type appSender struct {
	a  *App
	cl *kgo.Client
}

func (s appSender) send(topic string, partition int32, key, value []byte, ts int64, done func(int64)) {
	if partition < 0 {
		n := s.a.partitions[topic]
		if n <= 0 {
			n = 1
		}
		if key == nil {
			partition = int32(atomic.AddUint32(&s.a.roundRobin, 1) % uint32(n))
		} else {
			partition = partitionFor(key, n)
		}
	}
	r := &kgo.Record{Topic: topic, Partition: partition, Key: key, Value: value}
	if ts >= 0 {
		// Event time 0 is a time like any other; only a negative one
		// (changelog records) lets the client stamp the wall clock.
		r.Timestamp = time.UnixMilli(ts)
	}
	s.cl.Produce(context.Background(), r, func(r *kgo.Record, err error) {
		if err != nil {
			s.a.produceErr.CompareAndSwap(nil, &err)
			return
		}
		if done != nil {
			done(r.Offset)
		}
	})
}
