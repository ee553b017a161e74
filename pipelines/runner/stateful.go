package runner

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/tributary-io/tributary/pipelines/spec"
	"github.com/tributary-io/tributary/pipelines/stateful"
	"github.com/tributary-io/tributary/streams"
)

// statefulRun is the part of a Runner that runs a pipeline with stateful
// steps on the streams runtime.
type statefulRun struct {
	plan     *stateful.Plan
	counters stateful.Counters
	// apps are the running streams Apps, for Stats and queries; set by
	// runStateful under Runner.mu.
	apps []*streams.App
	// reported is what was last handed to Config.Records; only the
	// goroutine that reports touches it.
	reported [4]uint64
}

// compilePlan compiles the stateful plan of cfg.Spec.
func compilePlan(cfg *Config) (*statefulRun, error) {
	plan, probs := stateful.Compile(cfg.Name, cfg.Spec)
	if len(probs) > 0 {
		return nil, fmt.Errorf("pipeline %s: %w", cfg.Name, probs)
	}
	return &statefulRun{plan: plan}, nil
}

// runStateful runs Parallelism streams Apps of the pipeline's topology in
// the group Group(name), which is also their application id, so their
// changelog and repartition topics are named after the pipeline
// (tributary-pipeline-<name>-<store>-changelog). Each App commits its
// output, changelog writes and input offsets in one transaction per
// CommitInterval (exactly-once), or flushes and then commits offsets
// (at-least-once).
func (r *Runner) runStateful(ctx context.Context, partitions map[string]int32) error {
	cfg := &r.cfg
	sr := r.stateful
	repartitions, err := joinPartitions(cfg, sr.plan, partitions)
	if err != nil {
		return err
	}
	n := cfg.Spec.Parallelism
	apps := make([]*streams.App, n)
	for i := range n {
		top, err := sr.plan.Topology(&sr.counters)
		if err != nil {
			return fmt.Errorf("pipeline %s: build the topology: %w", cfg.Name, err)
		}
		app, err := streams.New(top, streams.Config{
			ApplicationID: Group(cfg.Name),
			Brokers:       cfg.Seeds,
			// The transactional id is <application id>-<instance id>: a
			// restarted process fences its predecessor's transaction.
			InstanceID:         cfg.InstanceID + "-" + strconv.Itoa(i),
			AtLeastOnce:        cfg.Spec.Delivery == spec.AtLeastOnce,
			CommitInterval:     cfg.CommitInterval,
			Logger:             cfg.Logger.With("pipeline", cfg.Name, "instance", i),
			SessionTimeout:     cfg.SessionTimeout,
			TransactionTimeout: cfg.TransactionTimeout,
			MaxPollRecords:     cfg.MaxPollRecords,
			ClientOpts:         cfg.ClientOpts,
			// Zero (no join): the runtime's default.
			RepartitionPartitions: repartitions,
		})
		if err != nil {
			return fmt.Errorf("pipeline %s: %w", cfg.Name, err)
		}
		apps[i] = app
	}
	r.mu.Lock()
	sr.apps = apps
	r.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	if cfg.Records != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.reportRecords(ctx)
		}()
	}
	errs := make([]error, n)
	var appsWG sync.WaitGroup
	for i, app := range apps {
		appsWG.Add(1)
		go func() {
			defer appsWG.Done()
			if err := app.Run(ctx); err != nil {
				if errors.Is(err, stateful.ErrRecord) {
					err = fmt.Errorf("%w: %w", ErrStopped, err)
				}
				errs[i] = fmt.Errorf("instance %d: %w", i, err)
				cancel()
			}
		}()
	}
	appsWG.Wait()
	cancel()
	wg.Wait()
	if cfg.Records != nil {
		r.flushRecords()
	}
	return errors.Join(errs...)
}

// joinPartitions is the partition count repartition topics need so that a
// join's stream is co-partitioned with its table: the table's. A join
// without a repartition reads the input as it is, which must then have the
// table's partition count; it fails with a hint otherwise. Zero without a
// join.
func joinPartitions(cfg *Config, plan *stateful.Plan, partitions map[string]int32) (int32, error) {
	table, repartitioned, ok := plan.Join()
	if !ok {
		return 0, nil
	}
	n := partitions[table]
	if !repartitioned {
		for _, in := range cfg.Spec.Input.Topics {
			if partitions[in.Name] != n {
				return 0, fmt.Errorf("pipeline %s: the join looks up records of %s (%d partitions) by their key in table %s (%d partitions): give both topics the same partition count, or give the join a key expression (key: key), which repartitions the records first",
					cfg.Name, in.Name, partitions[in.Name], table, n)
			}
		}
	}
	return n, nil
}

// reportRecords hands the counters' growth to Config.Records every second
// until ctx ends.
func (r *Runner) reportRecords(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.flushRecords()
		}
	}
}

// flushRecords reports the counts added since the last call. Only one
// goroutine at a time calls it: the reporter, then Run once it has stopped.
func (r *Runner) flushRecords() {
	c := &r.stateful.counters
	now := [4]uint64{c.In.Load(), c.Out.Load(), c.Filtered.Load(), c.Errors.Load()}
	last := &r.stateful.reported
	r.cfg.Records.AddRecords(now[0]-last[0], now[1]-last[1], now[2]-last[2], now[3]-last[3], 0)
	*last = now
}

// statefulStats fills Stats from the counters and the Apps.
func (r *Runner) statefulStats() Stats {
	c := &r.stateful.counters
	s := Stats{In: c.In.Load(), Out: c.Out.Load(), Filtered: c.Filtered.Load(), Errors: c.Errors.Load()}
	r.mu.Lock()
	apps := r.stateful.apps
	r.mu.Unlock()
	for _, a := range apps {
		st := a.Stats()
		s.Batches += uint64(st.Commits)
		s.Aborted += uint64(st.Aborts)
		s.Late += uint64(st.Late)
	}
	return s
}

// Stateful reports whether the runner runs its pipeline on the streams
// runtime (the pipeline has a join, window or aggregate step).
func (r *Runner) Stateful() bool { return r.stateful != nil }

// StoreHandler serves interactive queries on the pipeline's local state
// (see stateful.Plan.QueryHandler): the stores of the tasks this runner's
// Apps own now. It answers 404 for a pipeline without stateful steps.
func (r *Runner) StoreHandler() http.Handler {
	if r.stateful == nil {
		return http.NotFoundHandler()
	}
	return r.stateful.plan.QueryHandler(func() []streams.Querier {
		r.mu.Lock()
		defer r.mu.Unlock()
		qs := make([]streams.Querier, len(r.stateful.apps))
		for i, a := range r.stateful.apps {
			qs[i] = a
		}
		return qs
	})
}
