package connect

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/sdk"
)

// SourceTask runs one source task exactly once into its topic.
type SourceTask struct {
	cfg TaskConfig
}

// NewSourceTask returns a task; Run runs it.
func NewSourceTask(cfg TaskConfig) (*SourceTask, error) {
	cfg.ensureDefaults()
	if cfg.Connector.Kind != sdk.KindSource {
		return nil, fmt.Errorf("connector %s is not a source", cfg.Connector.Name)
	}
	if cfg.Host == nil || len(cfg.Seeds) == 0 {
		return nil, fmt.Errorf("source task %s: Host and Seeds are required", cfg.ID())
	}
	return &SourceTask{cfg: cfg}, nil
}

// TransactionalID is the transactional id of the source task id.
func TransactionalID(taskID string) string { return "tributary-connector-" + taskID }

// Run runs the task until ctx is cancelled (nil) or it fails for good.
// Failures are retried with backoff within the connector's retry timeout;
// each attempt starts over from the last committed position.
func (t *SourceTask) Run(ctx context.Context) error {
	return runAttempts(ctx, &t.cfg, "source", t.attempt)
}

// attempt runs the task once: fence, read the position, open the plugin,
// then move batches until ctx ends or something fails. progressed reports a
// committed transaction, which resets the retry budget.
func (t *SourceTask) attempt(ctx context.Context) (progressed bool, err error) {
	cfg := &t.cfg
	c := &cfg.Connector
	pcfg, err := cfg.Host.ParseConfig(ctx, c.Plugin, sdk.KindSource, c.PluginConfig)
	if err != nil {
		return false, fmt.Errorf("plugin config: %w", err)
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(cfg.Seeds...),
		kgo.ClientID("tributary-connector-" + c.Name),
		kgo.TransactionalID(TransactionalID(cfg.ID())),
		kgo.TransactionTimeout(cfg.TransactionTimeout),
		kgo.DefaultProduceTopic(c.Topic),
		kgo.RecordRetries(10),
		kgo.WithLogger(kgoLogger{cfg.Logger}),
	}, cfg.ClientOpts...)...)
	if err != nil {
		return false, fmt.Errorf("producer: %w", err)
	}
	defer cl.Close()
	// Fence a predecessor first: InitProducerId bumps the epoch and aborts
	// its open transaction, so the position read next is final.
	if _, _, err := cl.ProducerID(ctx); err != nil {
		return false, fmt.Errorf("init transactional producer: %w", err)
	}
	pos, err := ReadPosition(ctx, cfg.Seeds, cfg.ClientOpts, cfg.ID())
	if err != nil {
		return false, err
	}
	src, err := cfg.Host.NewSource(c.Plugin)
	if err != nil {
		return false, err
	}
	defer func() {
		if cerr := src.Close(); cerr != nil {
			cfg.Logger.Warn("close source", "error", cerr)
		}
	}()
	if err := src.Open(ctx, pcfg, pos); err != nil {
		return false, fmt.Errorf("open source: %w", err)
	}
	cfg.Logger.Info("source task running", "resume_from_position", pos != nil)
	cfg.state(StateRunning, nil)
	for {
		rctx, cancel := context.WithTimeout(ctx, cfg.ReadWait)
		recs, err := src.Read(rctx, c.BatchMax)
		cancel()
		if ctx.Err() != nil {
			return progressed, nil
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			// The plugin host discards what the plugin read since the
			// last commit and reopens it there; nothing was produced.
			return progressed, fmt.Errorf("read: %w", err)
		}
		if len(recs) == 0 {
			continue
		}
		if err := t.commitBatch(ctx, cl, recs); err != nil {
			return progressed, err
		}
		progressed = true
		positions := make([]sdk.Position, 0, len(recs))
		for _, r := range recs {
			positions = append(positions, r.Position)
		}
		if cm, ok := src.(sdk.Committer); ok {
			if err := cm.Commit(ctx, positions); err != nil {
				cfg.Logger.Warn("plugin did not take the commit", "error", err)
			}
		}
	}
}

// commitBatch writes recs and the position of the last one in one
// transaction. On any failure the transaction is aborted and an error
// returned: the caller starts over from the committed position.
func (t *SourceTask) commitBatch(ctx context.Context, cl *kgo.Client, recs []sdk.Record) error {
	cfg := &t.cfg
	if err := cl.BeginTransaction(); err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	promise := kgo.AbortingFirstErrPromise(cl)
	for i := range recs {
		kr := toKafka(&recs[i], cfg.Connector.Topic)
		if err := t.check(kr); err != nil {
			if cfg.Connector.Tolerance != ToleranceAll {
				t.abort(ctx, cl)
				return fmt.Errorf("record %d of the batch: %w", i, err)
			}
			if cfg.Connector.DeadLetter != "" {
				cl.Produce(ctx, deadLetter(cfg, kr, cfg.Connector.DeadLetter, err), promise.Promise())
			}
			continue
		}
		cl.Produce(ctx, kr, promise.Promise())
	}
	cl.Produce(ctx, positionRecord(cfg.ID(), recs[len(recs)-1].Position), promise.Promise())
	if err := cl.Flush(ctx); err != nil {
		t.abort(ctx, cl)
		return fmt.Errorf("flush: %w", err)
	}
	if err := promise.Err(); err != nil {
		t.abort(ctx, cl)
		return fmt.Errorf("produce: %w", err)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.abort(ctx, cl)
		return fmt.Errorf("commit transaction: %w", err)
	}
	return nil
}

// check rejects a record the runtime knows it cannot write, before the
// transaction would fail on it.
func (t *SourceTask) check(r *kgo.Record) error {
	if r.Topic == OffsetsTopic || (len(r.Topic) > 2 && r.Topic[:2] == "__") {
		return fmt.Errorf("topic %q is internal; a source may not write to it", r.Topic)
	}
	return nil
}

// abort ends an open transaction with an abort, on a context that outlives
// a cancelled ctx so a stopping task leaves nothing open.
func (t *SourceTask) abort(ctx context.Context, cl *kgo.Client) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := cl.AbortBufferedRecords(actx); err != nil {
		t.cfg.Logger.Warn("abort buffered records", "error", err)
	}
	if err := cl.EndTransaction(actx, kgo.TryAbort); err != nil {
		t.cfg.Logger.Warn("abort transaction", "error", err)
	}
}

// toKafka converts a source record for topic (the record's own Topic wins).
func toKafka(r *sdk.Record, topic string) *kgo.Record {
	kr := &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp}
	if r.Topic != "" {
		kr.Topic = r.Topic
	}
	if len(r.Headers) > 0 {
		kr.Headers = make([]kgo.RecordHeader, len(r.Headers))
		for i, h := range r.Headers {
			kr.Headers[i] = kgo.RecordHeader{Key: h.Key, Value: h.Value}
		}
	}
	return kr
}
