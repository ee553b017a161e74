package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/pipelines/spec"
)

// Runner runs one topic-to-topic pipeline: Parallelism consumers in the
// pipeline's group, each consuming, processing and producing in batches.
type Runner struct {
	cfg   Config
	stats counters
	// lags holds each consumer's lag tracker; set by Run, read by Stats.
	mu   sync.Mutex
	lags []*lagTracker
	// stateful is set for a pipeline with stateful steps, which runs on
	// the streams runtime instead of the workers below.
	stateful *statefulRun
}

// New validates cfg (after EnsureDefaults) and returns a runner.
func New(cfg Config) (*Runner, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("pipeline runner: %w", err)
	}
	r := &Runner{cfg: cfg}
	if cfg.Spec.Stateful() {
		sr, err := compilePlan(&cfg)
		if err != nil {
			return nil, fmt.Errorf("pipeline runner: %w", err)
		}
		r.stateful = sr
	}
	return r, nil
}

// Stats are a runner's counters since it was created. Under exactly-once
// they count committed work only: a batch whose transaction aborted is
// counted when it is processed again. A pipeline with stateful steps is the
// exception: its counts include records processed again after an aborted
// transaction, as the streams runtime's do.
type Stats struct {
	// In counts records consumed; Out records produced to outputs (a record
	// routed to two outputs counts twice).
	In, Out uint64
	// Filtered counts records dropped by filter, sample, dedupe or a route
	// that matched no output.
	Filtered uint64
	// Errors counts records whose processing failed; DeadLettered those of
	// them written to the dead-letter topic.
	Errors, DeadLettered uint64
	// Batches counts committed batches; Aborted batches whose transaction
	// aborted (after a rebalance or a failed commit) and were redone.
	Batches, Aborted uint64
	// LatencySum and LatencyMax measure batches from the poll that returned
	// them to their commit.
	LatencySum, LatencyMax time.Duration
	// Lag is the consumers' lag: records between the last polled record of
	// each partition they read and the partition's end, as of the last
	// fetch that returned records. Not measured for stateful pipelines.
	Lag int64
	// Late counts records a window step dropped because they came after
	// the window's grace period (stateful pipelines only).
	Late uint64
}

// Attrs are the counters as slog key-value pairs, for a stats log line:
// in, out, filtered, errors, dead_lettered, lag, batches, aborted,
// batch_latency_avg and batch_latency_max.
func (s Stats) Attrs() []any {
	var avg time.Duration
	if s.Batches > 0 {
		avg = s.LatencySum / time.Duration(s.Batches)
	}
	return []any{"in", s.In, "out", s.Out, "filtered", s.Filtered, "errors", s.Errors,
		"dead_lettered", s.DeadLettered, "lag", s.Lag, "batches", s.Batches, "aborted", s.Aborted,
		"batch_latency_avg", avg, "batch_latency_max", s.LatencyMax}
}

// RunLogged is Run, logging the counters to log ("pipeline stats") every
// interval (never when it is 0) and once more when Run returns ("pipeline
// stopped"). The goroutine that logs is stopped before it returns.
func (r *Runner) RunLogged(ctx context.Context, log *slog.Logger, every time.Duration) error {
	done := make(chan struct{})
	var wg sync.WaitGroup
	if every > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(every)
			defer tick.Stop()
			for {
				select {
				case <-done:
					return
				case <-tick.C:
					log.Info("pipeline stats", r.Stats().Attrs()...)
				}
			}
		}()
	}
	err := r.Run(ctx)
	close(done)
	wg.Wait()
	log.Info("pipeline stopped", r.Stats().Attrs()...)
	return err
}

// counters are Stats as atomics, added to by every consumer.
type counters struct {
	in, out, filtered, errors, deadLettered, batches, aborted atomic.Uint64
	latencySum, latencyMax                                    atomic.Int64
}

// batchCounts are one batch's counts, added to the runner's on commit.
type batchCounts struct {
	in, out, filtered, errors, deadLettered uint64
}

func (c *counters) commit(b batchCounts, latency time.Duration) {
	c.in.Add(b.in)
	c.out.Add(b.out)
	c.filtered.Add(b.filtered)
	c.errors.Add(b.errors)
	c.deadLettered.Add(b.deadLettered)
	c.batches.Add(1)
	c.latencySum.Add(int64(latency))
	for {
		cur := c.latencyMax.Load()
		if int64(latency) <= cur || c.latencyMax.CompareAndSwap(cur, int64(latency)) {
			break
		}
	}
}

// committed adds a committed batch to the counters and to cfg.Records.
func (r *Runner) committed(b batchCounts, latency time.Duration) {
	r.stats.commit(b, latency)
	if r.cfg.Records != nil {
		r.cfg.Records.AddRecords(b.in, b.out, b.filtered, b.errors, b.deadLettered)
		if o, ok := r.cfg.Records.(BatchObserver); ok {
			o.ObserveBatch(latency)
		}
	}
}

// Stats returns the counters. It is safe to call while Run runs.
func (r *Runner) Stats() Stats {
	if r.stateful != nil {
		return r.statefulStats()
	}
	c := &r.stats
	var lag int64
	r.mu.Lock()
	for _, l := range r.lags {
		lag += l.total()
	}
	r.mu.Unlock()
	return Stats{
		Lag: lag,
		In:  c.in.Load(), Out: c.out.Load(), Filtered: c.filtered.Load(),
		Errors: c.errors.Load(), DeadLettered: c.deadLettered.Load(),
		Batches: c.batches.Load(), Aborted: c.aborted.Load(),
		LatencySum: time.Duration(c.latencySum.Load()), LatencyMax: time.Duration(c.latencyMax.Load()),
	}
}

// ErrStopped wraps the processing error that stopped a pipeline whose
// onError is stop.
var ErrStopped = errors.New("pipeline stopped on a record error")

// Run runs the pipeline until ctx is cancelled, then finishes and commits
// the batch in hand, leaves the group and returns nil. It returns an error
// when a consumer fails for good, or wrapping ErrStopped when a record fails
// and onError is stop; the other consumers are then stopped too.
func (r *Runner) Run(ctx context.Context) error {
	parts, err := r.checkTopics(ctx)
	if err != nil {
		return err
	}
	if r.stateful != nil {
		return r.runStateful(ctx, parts)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	n := r.cfg.Spec.Parallelism
	errs := make([]error, n)
	workers := make([]*worker, n)
	r.mu.Lock()
	r.lags = r.lags[:0]
	for i := range n {
		workers[i] = r.newWorker(i)
		r.lags = append(r.lags, workers[i].lag)
	}
	r.mu.Unlock()
	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.run(ctx); err != nil {
				errs[i] = fmt.Errorf("consumer %d: %w", i, err)
				cancel(errs[i])
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// checkTopics fails early, with a message naming them, when input, output,
// dead-letter or join table topics do not exist, and returns the partition
// count of each.
func (r *Runner) checkTopics(ctx context.Context) (map[string]int32, error) {
	var want []string
	for _, t := range r.cfg.Spec.Input.Topics {
		want = append(want, t.Name)
	}
	for _, o := range r.cfg.Spec.Outputs {
		want = append(want, o.Topic)
	}
	if r.cfg.Spec.OnError.Action == spec.DeadLetter {
		want = append(want, r.cfg.Spec.OnError.Topic)
	}
	for _, pr := range r.cfg.Spec.Processors {
		if pr.Join != nil {
			want = append(want, pr.Join.Table)
		}
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(r.cfg.Seeds...)}, r.cfg.ClientOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("pipeline %s: client: %w", r.cfg.Name, err)
	}
	defer cl.Close()
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	details, err := kadm.NewClient(cl).ListTopics(rctx, want...)
	if err != nil {
		return nil, fmt.Errorf("pipeline %s: look up topics: %w", r.cfg.Name, err)
	}
	var missing []string
	parts := map[string]int32{}
	for _, t := range want {
		d, ok := details[t]
		if !ok || d.Err != nil {
			missing = append(missing, t)
			continue
		}
		parts[t] = int32(len(d.Partitions))
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("pipeline %s: topics %v do not exist: create them first (a Topic manifest, or tributary topic create)", r.cfg.Name, missing)
	}
	return parts, nil
}
