package connect

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/sdk"
)

// SinkTask runs one sink task at least once: offsets are committed only
// after the plugin flushed the batch.
type SinkTask struct {
	cfg TaskConfig
}

// NewSinkTask returns a task; Run runs it.
func NewSinkTask(cfg TaskConfig) (*SinkTask, error) {
	cfg.ensureDefaults()
	if cfg.Connector.Kind != sdk.KindSink {
		return nil, fmt.Errorf("connector %s is not a sink", cfg.Connector.Name)
	}
	if cfg.Host == nil || len(cfg.Seeds) == 0 {
		return nil, fmt.Errorf("sink task %s: Host and Seeds are required", cfg.ID())
	}
	return &SinkTask{cfg: cfg}, nil
}

// Group is the consumer group of the sink connector called name, as Kafka
// Connect names it.
func Group(name string) string { return "connect-" + name }

// Run runs the task until ctx is cancelled (nil) or it fails for good.
func (t *SinkTask) Run(ctx context.Context) error {
	return runAttempts(ctx, &t.cfg, "sink", t.attempt)
}

func (t *SinkTask) attempt(ctx context.Context) (progressed bool, err error) {
	cfg := &t.cfg
	c := &cfg.Connector
	pcfg, err := cfg.Host.ParseConfig(ctx, c.Plugin, sdk.KindSink, c.PluginConfig)
	if err != nil {
		return false, fmt.Errorf("plugin config: %w", err)
	}
	sink, err := cfg.Host.NewSink(c.Plugin)
	if err != nil {
		return false, err
	}
	defer func() {
		if cerr := sink.Close(); cerr != nil {
			cfg.Logger.Warn("close sink", "error", cerr)
		}
	}()
	if err := sink.Open(ctx, pcfg); err != nil {
		return false, fmt.Errorf("open sink: %w", err)
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(cfg.Seeds...),
		kgo.ClientID("tributary-connector-" + c.Name),
		kgo.ConsumerGroup(Group(c.Name)),
		kgo.ConsumeTopics(c.Topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.SessionTimeout(cfg.SessionTimeout),
		// kgo's default heartbeat (3s) is refused when longer than the
		// session timeout, and workers allow sessions down to 1s.
		kgo.HeartbeatInterval(max(cfg.SessionTimeout/10, 100*time.Millisecond)),
		kgo.WithLogger(kgoLogger{cfg.Logger}),
	}, cfg.ClientOpts...)...)
	if err != nil {
		return false, fmt.Errorf("consumer: %w", err)
	}
	defer cl.Close()
	cfg.state(StateRunning, nil)
	for {
		fs := cl.PollRecords(ctx, c.BatchMax)
		if fs.IsClientClosed() || ctx.Err() != nil {
			cl.AllowRebalance()
			return progressed, nil
		}
		var ferr error
		fs.EachError(func(tp string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				ferr = fmt.Errorf("consume %s[%d]: %w", tp, p, err)
			}
		})
		if ferr != nil {
			cl.AllowRebalance()
			return progressed, ferr
		}
		recs := fs.Records()
		if len(recs) == 0 {
			cl.AllowRebalance()
			continue
		}
		if err := t.deliver(ctx, cl, sink, recs); err != nil {
			cl.AllowRebalance()
			return progressed, err
		}
		err := cl.CommitRecords(context.WithoutCancel(ctx), recs...)
		cl.AllowRebalance()
		if err != nil {
			return progressed, fmt.Errorf("commit offsets: %w", err)
		}
		progressed = true
	}
}

// deliver writes and flushes recs, retrying the whole batch (the plugin
// host restarts a failed plugin) within the retry timeout. When that is
// spent and the tolerance is all, it delivers record by record and sends
// the records that still fail to the dead-letter topic.
func (t *SinkTask) deliver(ctx context.Context, cl *kgo.Client, sink sdk.Sink, recs []*kgo.Record) error {
	cfg := &t.cfg
	batch := make([]sdk.Record, len(recs))
	for i, r := range recs {
		batch[i] = fromKafka(r)
	}
	r := retrier{cfg: cfg}
	for {
		err := writeFlush(ctx, sink, batch)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if werr := r.wait(ctx, err); werr != nil {
			if cfg.Connector.Tolerance != ToleranceAll {
				return werr
			}
			return t.deliverEach(ctx, cl, sink, recs, batch)
		}
	}
}

// deliverEach writes records one at a time; under tolerance all a record
// that fails is skipped, to the dead-letter topic when one is set.
func (t *SinkTask) deliverEach(ctx context.Context, cl *kgo.Client, sink sdk.Sink, recs []*kgo.Record, batch []sdk.Record) error {
	cfg := &t.cfg
	var dead []*kgo.Record
	for i := range batch {
		if err := writeFlush(ctx, sink, batch[i:i+1]); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			cfg.Logger.Warn("record skipped (errors.tolerance=all)", "topic", recs[i].Topic,
				"partition", recs[i].Partition, "offset", recs[i].Offset, "error", err)
			if cfg.Connector.DeadLetter != "" {
				dead = append(dead, deadLetter(cfg, recs[i], cfg.Connector.DeadLetter, err))
			}
		}
	}
	if len(dead) > 0 {
		if err := cl.ProduceSync(ctx, dead...).FirstErr(); err != nil {
			return fmt.Errorf("write to dead-letter topic %s: %w", cfg.Connector.DeadLetter, err)
		}
	}
	return nil
}

func writeFlush(ctx context.Context, sink sdk.Sink, batch []sdk.Record) error {
	if err := sink.Write(ctx, batch); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if err := sink.Flush(ctx); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	return nil
}

func fromKafka(r *kgo.Record) sdk.Record {
	out := sdk.Record{Key: r.Key, Value: r.Value, Timestamp: r.Timestamp, Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}
	if len(r.Headers) > 0 {
		out.Headers = make([]sdk.Header, len(r.Headers))
		for i, h := range r.Headers {
			out.Headers[i] = sdk.Header{Key: h.Key, Value: h.Value}
		}
	}
	return out
}
