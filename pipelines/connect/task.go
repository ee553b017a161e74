package connect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/plugins"
	"github.com/tributary-io/tributary/sdk"
)

// Task states, as Kafka Connect names them (pluginmetrics.States).
const (
	StateRunning    = "running"
	StatePaused     = "paused"
	StateFailed     = "failed"
	StateRestarting = "restarting"
	StateUnassigned = "unassigned"
)

// Internal topic names.
const (
	OffsetsTopic = "__tributary_offsets"
)

// Headers added to a dead-lettered record, beside its own.
const (
	HeaderError     = "tributary.error"
	HeaderConnector = "tributary.connector"
	HeaderTask      = "tributary.task"
	HeaderTopic     = "tributary.source.topic"
	HeaderPartition = "tributary.source.partition"
	HeaderOffset    = "tributary.source.offset"
)

// TaskConfig configures one task of a connector.
type TaskConfig struct {
	// Connector is the parsed connector configuration (Parse or Validate).
	Connector Config
	// Task is the task's number, 0 to Connector.Tasks-1.
	Task int
	// Host creates the plugin instance.
	Host Host
	// Seeds are the bootstrap brokers; ClientOpts are added to every client.
	Seeds      []string
	ClientOpts []kgo.Opt
	// Logger receives the task's events. Default slog.Default().
	Logger *slog.Logger
	// OnState, when set, is called on every state change with the error
	// text for a failure.
	OnState func(state, trace string)
	// TransactionTimeout bounds a source's open transaction. Default 60s.
	TransactionTimeout time.Duration
	// SessionTimeout is a sink's consumer group session timeout. Default 10s.
	SessionTimeout time.Duration
	// ReadWait is how long a source's Read waits for a first record.
	// Default 500ms.
	ReadWait time.Duration
	// InitialBackoff is the first retry delay; it doubles up to
	// Connector.RetryDelayMax. Default 100ms.
	InitialBackoff time.Duration
}

func (c *TaskConfig) ensureDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Logger = c.Logger.With("connector", c.Connector.Name, "task", c.Task)
	if c.TransactionTimeout == 0 {
		c.TransactionTimeout = 60 * time.Second
	}
	if c.SessionTimeout == 0 {
		c.SessionTimeout = 10 * time.Second
	}
	if c.ReadWait == 0 {
		c.ReadWait = 500 * time.Millisecond
	}
	if c.InitialBackoff == 0 {
		c.InitialBackoff = 100 * time.Millisecond
	}
	if c.Connector.RetryDelayMax == 0 {
		c.Connector.RetryDelayMax = DefaultRetryDelayMax
	}
	if c.Connector.BatchMax == 0 {
		c.Connector.BatchMax = DefaultBatchMax
	}
}

func (c *TaskConfig) state(state string, err error) {
	if c.OnState == nil {
		return
	}
	trace := ""
	if err != nil {
		trace = err.Error()
	}
	c.OnState(state, trace)
}

// ID is the task's id, <connector>-<task>: part of its transactional id and
// the key of its source position.
func (c *TaskConfig) ID() string { return c.Connector.Name + "-" + strconv.Itoa(c.Task) }

// runAttempts runs attempt until ctx is cancelled (nil) or it fails for good:
// a non-retriable error, or retriable ones past the connector's retry timeout.
// Each attempt starts over from the last committed position; one that made
// progress (committed something) resets the retry budget. kind names the task
// in errors.
func runAttempts(ctx context.Context, cfg *TaskConfig, kind string, attempt func(context.Context) (bool, error)) error {
	r := retrier{cfg: cfg}
	for {
		progressed, err := attempt(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if progressed {
			r.reset()
		}
		if !retriable(err) {
			cfg.state(StateFailed, err)
			return err
		}
		cfg.state(StateRestarting, err)
		if werr := r.wait(ctx, err); werr != nil {
			if ctx.Err() != nil {
				return nil
			}
			cfg.state(StateFailed, werr)
			return fmt.Errorf("%s task %s: %w", kind, cfg.ID(), werr)
		}
	}
}

// retrier waits with exponential backoff between attempts, until the
// connector's retry timeout has passed since the first failure.
type retrier struct {
	cfg      *TaskConfig
	first    time.Time
	attempts int
}

// wait sleeps before the next attempt after err. It returns err (wrapped)
// when the retry budget is spent or ctx ended.
func (r *retrier) wait(ctx context.Context, err error) error {
	if r.attempts == 0 {
		r.first = time.Now()
	}
	r.attempts++
	if time.Since(r.first) > r.cfg.Connector.RetryTimeout {
		return fmt.Errorf("gave up after %d attempts in %s: %w", r.attempts, time.Since(r.first).Round(time.Millisecond), err)
	}
	d := r.cfg.InitialBackoff << min(r.attempts-1, 20)
	d = min(d, r.cfg.Connector.RetryDelayMax)
	r.cfg.Logger.Warn("retrying after an error", "attempt", r.attempts, "delay", d.String(), "error", err)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (r *retrier) reset() { r.attempts = 0 }

// retriable reports an error worth retrying: a plugin that failed (its host
// restarts it, see plugins.ErrPluginFailed), a broker or network error. A
// configuration the plugin rejects, or a plugin that is not installed, is
// not: retrying cannot fix it.
func retriable(err error) bool {
	return sdk.Problems(err) == nil && !errors.Is(err, plugins.ErrUnknownPlugin)
}

// deadLetter is a record for the dead-letter topic with where it came from
// and why it failed in its headers.
func deadLetter(cfg *TaskConfig, r *kgo.Record, topic string, err error) *kgo.Record {
	headers := make([]kgo.RecordHeader, 0, len(r.Headers)+6)
	headers = append(headers, r.Headers...)
	headers = append(headers,
		kgo.RecordHeader{Key: HeaderError, Value: []byte(err.Error())},
		kgo.RecordHeader{Key: HeaderConnector, Value: []byte(cfg.Connector.Name)},
		kgo.RecordHeader{Key: HeaderTask, Value: []byte(strconv.Itoa(cfg.Task))},
		kgo.RecordHeader{Key: HeaderTopic, Value: []byte(r.Topic)},
		kgo.RecordHeader{Key: HeaderPartition, Value: strconv.AppendInt(nil, int64(r.Partition), 10)},
		kgo.RecordHeader{Key: HeaderOffset, Value: strconv.AppendInt(nil, r.Offset, 10)},
	)
	return &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value, Headers: headers, Timestamp: r.Timestamp}
}

// kgoLogger forwards franz-go's warnings and errors to slog.
type kgoLogger struct{ log *slog.Logger }

func (l kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (l kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lvl := slog.LevelWarn
	if level == kgo.LogLevelError {
		lvl = slog.LevelError
	}
	l.log.Log(context.Background(), lvl, msg, keyvals...)
}
