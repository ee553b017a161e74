package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/pipelines/process"
	"github.com/tributary-io/tributary/pipelines/spec"
)

// worker is one consumer of the pipeline's group; it owns its client and
// its processing Chain and runs on one goroutine.
type worker struct {
	r     *Runner
	index int
	chain *process.Chain
	log   *slog.Logger
	// byName maps output names to topics (for connector outputs, which only
	// Offline processes, to the output name).
	byName map[string]string
	all    []string // every output topic, for records not routed
	lag    *lagTracker
}

func (r *Runner) newWorker(i int) *worker {
	w := &worker{
		r: r, index: i, chain: r.cfg.Program.NewChain(),
		log:    r.cfg.Logger.With("pipeline", r.cfg.Name, "consumer", i),
		byName: map[string]string{},
		lag:    newLagTracker(),
	}
	for _, o := range r.cfg.Spec.Outputs {
		dest := o.Topic
		if o.Connector != nil {
			// Only Offline gets here (New rejects connectors): it reports a
			// connector output's records under the output's name.
			dest = o.Name
		}
		w.byName[o.Name] = dest
		w.all = append(w.all, dest)
	}
	return w
}

// member is the consumer's static group member id and transaction id suffix.
func (w *worker) member() string {
	return w.r.cfg.Name + "-" + w.r.cfg.InstanceID + "-" + strconv.Itoa(w.index)
}

// opts are the client options shared by both delivery modes.
func (w *worker) opts() []kgo.Opt {
	cfg := &w.r.cfg
	var topics []string
	for _, t := range cfg.Spec.Input.Topics {
		topics = append(topics, t.Name)
	}
	start := kgo.NewOffset().AtStart()
	if cfg.Spec.Input.StartFrom == "latest" {
		start = kgo.NewOffset().AtEnd()
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Seeds...),
		kgo.ClientID("tributary-pipeline-" + cfg.Name),
		kgo.ConsumerGroup(Group(cfg.Name)),
		kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(start),
		// Records of aborted transactions upstream must not be processed.
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.InstanceID(w.member()),
		kgo.SessionTimeout(cfg.SessionTimeout),
		// kgo's default heartbeat (3s) is longer than the shortest sessions
		// workers allow (1s), and the broker refuses such a member.
		kgo.HeartbeatInterval(max(cfg.SessionTimeout/10, 100*time.Millisecond)),
		kgo.WithLogger(kgoLogger{w.log}),
		kgo.OnPartitionsRevoked(w.lag.forget),
		kgo.OnPartitionsLost(w.lag.forget),
	}
	return append(opts, cfg.ClientOpts...)
}

func (w *worker) run(ctx context.Context) error {
	if w.r.cfg.Spec.Delivery == spec.ExactlyOnce {
		return w.runExactlyOnce(ctx)
	}
	return w.runAtLeastOnce(ctx)
}

// stopContext is the context to finish a batch with: ctx itself while it
// runs; once it is cancelled, a fresh one bounded by StopTimeout, so a clean
// stop still commits what was processed.
func (w *worker) stopContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx.Err() == nil {
		return ctx, func() {}
	}
	return context.WithTimeout(context.WithoutCancel(ctx), w.r.cfg.StopTimeout)
}

// runExactlyOnce consumes, produces and commits offsets in one transaction
// per batch. A batch whose transaction aborts is consumed again from the
// committed offsets, so its output appears once.
func (w *worker) runExactlyOnce(ctx context.Context) error {
	cfg := &w.r.cfg
	opts := append(w.opts(),
		kgo.TransactionalID("tributary-pipeline-"+w.member()),
		kgo.TransactionTimeout(cfg.TransactionTimeout),
	)
	sess, err := kgo.NewGroupTransactSession(opts...)
	if err != nil {
		return fmt.Errorf("transactional client: %w", err)
	}
	defer sess.Close()
	// Load the producer id now rather than at the first produce: it fences
	// a killed predecessor with the same transactional id and aborts its
	// open transaction, whose pending offsets would otherwise hold this
	// consumer's offset fetch until the transaction timed out.
	if _, _, err := sess.Client().ProducerID(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("init transactional producer: %w", err)
	}
	for {
		fetches := sess.PollRecords(ctx, cfg.MaxPollRecords)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			return nil // nothing begun: stop here
		}
		polled := time.Now()
		if err := w.fetchErrors(fetches); err != nil {
			return err
		}
		w.lag.observe(fetches)
		recs := fetches.Records()
		if len(recs) == 0 {
			continue
		}
		if err := sess.Begin(); err != nil {
			return fmt.Errorf("begin transaction: %w", err)
		}
		promise := kgo.AbortingFirstErrPromise(sess.Client())
		counts, stopErr := w.processBatch(recs, func(r *kgo.Record) {
			// Not ctx: a stop requested now must not fail the batch's
			// records; the batch is finished and committed first.
			sess.Produce(context.WithoutCancel(ctx), r, promise.Promise())
		})
		produceErr := promise.Err()
		endCtx, cancel := w.stopContext(ctx)
		committed, err := sess.End(endCtx, kgo.TransactionEndTry(stopErr == nil && produceErr == nil))
		cancel()
		switch {
		case err != nil:
			return fmt.Errorf("end transaction: %w", err)
		case stopErr != nil:
			return stopErr
		case produceErr != nil:
			return fmt.Errorf("produce: %w", produceErr)
		case committed:
			w.r.committed(counts, time.Since(polled))
		default:
			// A rebalance or a failed offset commit aborted the batch; the
			// session rewound to the committed offsets and the records come
			// again, so whatever dedupe learned from them must go.
			w.r.stats.aborted.Add(1)
			w.chain.Reset()
			w.log.Info("transaction aborted; the batch will be processed again", "records", len(recs))
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// runAtLeastOnce produces a batch, waits for every output to acknowledge
// it, and then commits its offsets; a crash in between repeats the batch.
func (w *worker) runAtLeastOnce(ctx context.Context) error {
	cfg := &w.r.cfg
	cl, err := kgo.NewClient(append(w.opts(), kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll())...)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	defer cl.Close()
	for {
		fetches := cl.PollRecords(ctx, cfg.MaxPollRecords)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			cl.AllowRebalance()
			return nil
		}
		polled := time.Now()
		if err := w.fetchErrors(fetches); err != nil {
			cl.AllowRebalance()
			return err
		}
		w.lag.observe(fetches)
		recs := fetches.Records()
		if len(recs) == 0 {
			cl.AllowRebalance()
			continue
		}
		promise := kgo.FirstErrPromise{}
		counts, stopErr := w.processBatch(recs, func(r *kgo.Record) {
			cl.Produce(context.WithoutCancel(ctx), r, promise.Promise())
		})
		if err := promise.Err(); err != nil {
			cl.AllowRebalance()
			return fmt.Errorf("produce: %w", err)
		}
		if stopErr != nil {
			cl.AllowRebalance()
			return stopErr
		}
		cctx, cancel := w.stopContext(ctx)
		err := cl.CommitRecords(cctx, recs...)
		cancel()
		cl.AllowRebalance()
		if err != nil {
			return fmt.Errorf("commit offsets: %w", err)
		}
		w.r.committed(counts, time.Since(polled))
		if ctx.Err() != nil {
			return nil
		}
	}
}

// fetchErrors logs fetch errors franz-go retries by itself and returns
// those that end the consumer.
func (w *worker) fetchErrors(fetches kgo.Fetches) error {
	var fatal error
	fetches.EachError(func(topic string, partition int32, err error) {
		switch {
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		case isFatal(err):
			fatal = fmt.Errorf("consume %s[%d]: %w", topic, partition, err)
		default:
			w.log.Warn("fetch error; retrying", "topic", topic, "partition", partition, "err", err)
		}
	})
	return fatal
}

// processBatch runs the processors on every record and hands what they
// produce — outputs and dead letters — to produce. It stops at the first
// failed record when onError is stop.
func (w *worker) processBatch(recs []*kgo.Record, produce func(*kgo.Record)) (batchCounts, error) {
	cfg := &w.r.cfg
	var c batchCounts
	loggedErr := false
	for _, r := range recs {
		c.in++
		m := toMessage(r)
		keep, err := w.chain.Process(m)
		var val []byte
		if err == nil && keep {
			if val, err = m.ValueBytes(); err != nil {
				err = fmt.Errorf("encode the value: %w", err)
			}
		}
		if err != nil {
			c.errors++
			switch cfg.Spec.OnError.Action {
			case spec.Stop:
				return c, fmt.Errorf("%w: record %s[%d]@%d: %w", ErrStopped, r.Topic, r.Partition, r.Offset, err)
			case spec.DeadLetter:
				produce(deadLetter(r, cfg.Spec.OnError.Topic, cfg.Name, err))
				c.deadLettered++
			}
			if !loggedErr { // one line per batch, not one per record
				w.log.Warn("record failed", "action", string(cfg.Spec.OnError.Action),
					"topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", err)
				loggedErr = true
			}
			continue
		}
		if !keep {
			c.filtered++
			continue
		}
		topics := w.all
		if names := m.Outputs(); names != nil {
			topics = topics[:0:0]
			for _, n := range names {
				topics = append(topics, w.byName[n])
			}
		}
		for _, t := range topics {
			produce(toRecord(m, t, val))
			c.out++
		}
	}
	return c, nil
}
