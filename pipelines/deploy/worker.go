package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/pipelines/connect"
	"github.com/tributary-io/tributary/plugins/pluginmetrics"
)

// Config configures a Worker.
type Config struct {
	// Seeds are the bootstrap brokers; ClientOpts are added to every client.
	Seeds      []string
	ClientOpts []kgo.Opt
	// ID names the worker in the group and in statuses. It must be stable
	// across restarts of one worker and differ between live workers.
	// Default: the host name.
	ID string
	// URL is the worker's REST address, shown in statuses. Optional.
	URL string
	// Host runs the connector plugins. Without it connectors fail.
	Host connect.Host
	// Logger receives the worker's events. Default slog.Default().
	Logger *slog.Logger
	// Metrics, when set, gets connector and task states and pipeline
	// record counts.
	Metrics *pluginmetrics.Metrics
	// Registerer, when set, gets the pipeline series this package declares
	// (PipelineErrorsTotal, PipelineBatchLatency, PipelineConsumerLag),
	// registered by Start and unregistered by Stop.
	Registerer prometheus.Registerer
	// SessionTimeout is the session timeout of the workers' group, of sink
	// connector groups and of pipeline groups: how long a dead worker's
	// units wait before they move. Default 10s.
	SessionTimeout time.Duration
	// ClusterSize is how many brokers the cluster is meant to have (its
	// voters). The internal topics are created with min(3, ClusterSize)
	// replicas once that many brokers registered, or with as many as
	// registered after a bounded wait (EnsureTopics). Zero: as many as are
	// registered when the worker starts, up to three.
	ClusterSize int
}

// EnsureDefaults fills every zero field with its default.
func (c *Config) EnsureDefaults() {
	if c.ID == "" {
		c.ID, _ = os.Hostname()
		if c.ID == "" {
			c.ID = "worker"
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.SessionTimeout == 0 {
		c.SessionTimeout = 10 * time.Second
	}
}

// Validate returns every problem of the configuration at once.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Seeds) == 0 {
		errs = append(errs, errors.New("Seeds is empty"))
	}
	if c.SessionTimeout < time.Second {
		errs = append(errs, fmt.Errorf("SessionTimeout = %s: must be at least 1s", c.SessionTimeout))
	}
	return errors.Join(errs...)
}

// Worker runs the connector tasks and pipelines the group assigns it. It
// also serves as the cluster's deployment API (admin.go).
type Worker struct {
	cfg Config
	log *slog.Logger
	bal *balancer

	group  *kgo.Client // member of WorkersGroup; reads ConfigsTopic
	status *kgo.Client // reads StatusTopic
	prod   *kgo.Client // writes specs and statuses

	mu       sync.Mutex
	specs    map[string]*Spec  // by Key
	statuses map[string]Status // by unit id
	read     map[string]int64  // "<topic>/<partition>" -> next offset applied
	applied  chan struct{}     // closed and replaced whenever records were applied

	wake chan struct{} // cap 1: the reconcile loop has something to look at

	// units is owned by the reconcile loop.
	units map[string]*running
	// reported holds the spec keys whose series the reconcile loop has set
	// in cfg.Metrics, so it can remove them once the spec is deleted.
	reported map[string]bool
	// stores serves the local state of running stateful pipelines.
	stores storeHandlers
	// logs keeps the last lines of the pipelines that ran here.
	logs pipelineLogs
	// pipeMetrics is set when cfg.Registerer is.
	pipeMetrics *pipelineMetrics

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// running is one started unit.
type running struct {
	fp     string
	cancel context.CancelFunc
	done   chan struct{}
}

// New validates cfg (after EnsureDefaults) and returns a worker; Start
// connects it.
func New(cfg Config) (*Worker, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("worker config: %w", err)
	}
	var pm *pipelineMetrics
	if cfg.Registerer != nil {
		pm = newPipelineMetrics()
	}
	return &Worker{
		cfg: cfg, log: cfg.Logger.With("worker", cfg.ID), pipeMetrics: pm,
		bal:   &balancer{self: memberMeta{ID: cfg.ID, URL: cfg.URL}},
		specs: map[string]*Spec{}, statuses: map[string]Status{}, read: map[string]int64{},
		applied: make(chan struct{}), wake: make(chan struct{}, 1), units: map[string]*running{},
		reported: map[string]bool{},
	}, nil
}

// ID is the worker's id.
func (w *Worker) ID() string { return w.cfg.ID }

func (w *Worker) opts(extra ...kgo.Opt) []kgo.Opt {
	o := append([]kgo.Opt{kgo.SeedBrokers(w.cfg.Seeds...), kgo.WithLogger(kgoLogger{w.log})}, extra...)
	return append(o, w.cfg.ClientOpts...)
}

// Start creates the internal topics when missing, joins the workers' group
// and starts reading specs and statuses. ctx bounds start-up only.
func (w *Worker) Start(ctx context.Context) error {
	if w.pipeMetrics != nil {
		for i, c := range w.pipeMetrics.collectors() {
			if err := w.cfg.Registerer.Register(c); err != nil {
				for _, done := range w.pipeMetrics.collectors()[:i] {
					w.cfg.Registerer.Unregister(done)
				}
				return fmt.Errorf("register pipeline metrics: %w", err)
			}
		}
	}
	prod, err := kgo.NewClient(w.opts(kgo.ClientID("tributary-worker-"+w.cfg.ID), kgo.ProducerLinger(0))...)
	if err != nil {
		w.unregister()
		return fmt.Errorf("worker producer: %w", err)
	}
	if err := EnsureTopics(ctx, prod, w.cfg.ClusterSize); err != nil {
		prod.Close()
		w.unregister()
		return err
	}
	group, err := kgo.NewClient(w.opts(
		kgo.ClientID("tributary-worker-"+w.cfg.ID),
		kgo.ConsumerGroup(WorkersGroup),
		kgo.ConsumeTopics(ConfigsTopic),
		kgo.Balancers(w.bal),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(w.cfg.SessionTimeout),
		kgo.HeartbeatInterval(max(w.cfg.SessionTimeout/10, 100*time.Millisecond)),
		kgo.RebalanceTimeout(w.cfg.SessionTimeout*3),
		kgo.FetchMaxWait(time.Second),
		kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) { w.poke() }),
		kgo.OnPartitionsRevoked(func(context.Context, *kgo.Client, map[string][]int32) { w.poke() }),
	)...)
	if err != nil {
		prod.Close()
		w.unregister()
		return fmt.Errorf("worker group client: %w", err)
	}
	status, err := kgo.NewClient(w.opts(
		kgo.ConsumeTopics(StatusTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(time.Second),
	)...)
	if err != nil {
		prod.Close()
		group.Close()
		w.unregister()
		return fmt.Errorf("worker status client: %w", err)
	}
	w.prod, w.group, w.status = prod, group, status
	runCtx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	w.wg.Add(3)
	go func() { defer w.wg.Done(); w.consume(runCtx, w.group, w.applySpec) }()
	go func() { defer w.wg.Done(); w.consume(runCtx, w.status, w.applyStatus) }()
	go func() { defer w.wg.Done(); w.reconcileLoop(runCtx) }()
	w.log.Info("worker started", "group", WorkersGroup)
	return nil
}

// Stop stops every unit, leaves the group and closes the clients.
func (w *Worker) Stop(ctx context.Context) error {
	if w.cancel == nil {
		return nil
	}
	w.cancel()
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("stop worker: %w", ctx.Err())
	}
	w.group.Close() // leaves the group, so the units move at once
	w.status.Close()
	w.prod.Close()
	w.unregister()
	w.log.Info("worker stopped")
	return nil
}

// unregister removes the pipeline series from cfg.Registerer.
func (w *Worker) unregister() {
	if w.pipeMetrics != nil {
		for _, c := range w.pipeMetrics.collectors() {
			w.cfg.Registerer.Unregister(c)
		}
	}
}

func (w *Worker) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// consume applies every record of cl until ctx ends.
func (w *Worker) consume(ctx context.Context, cl *kgo.Client, apply func(*kgo.Record)) {
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil || fs.IsClientClosed() {
			return
		}
		fs.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				w.log.Warn("read internal topic", "topic", t, "partition", p, "error", err)
			}
		})
		n := 0
		w.mu.Lock()
		fs.EachRecord(func(r *kgo.Record) {
			apply(r)
			k := fmt.Sprintf("%s/%d", r.Topic, r.Partition)
			w.read[k] = max(w.read[k], r.Offset+1)
			n++
		})
		if n > 0 {
			close(w.applied)
			w.applied = make(chan struct{})
		}
		w.mu.Unlock()
		if n > 0 {
			w.poke()
		}
	}
}

// applySpec applies one ConfigsTopic record; w.mu is held.
func (w *Worker) applySpec(r *kgo.Record) {
	key := string(r.Key)
	if r.Value == nil {
		delete(w.specs, key)
		return
	}
	s, err := decodeSpec(r.Value)
	if err != nil || s.Key() != key {
		w.log.Warn("ignoring a bad spec record", "key", key, "offset", r.Offset, "error", err)
		return
	}
	if s.Kind == KindPipeline {
		s.bridge = bridgeOf(s)
	}
	w.specs[key] = s
}

// applyStatus applies one StatusTopic record; w.mu is held.
func (w *Worker) applyStatus(r *kgo.Record) {
	key := string(r.Key)
	if r.Value == nil {
		delete(w.statuses, key)
		return
	}
	var s Status
	if err := json.Unmarshal(r.Value, &s); err != nil {
		w.log.Warn("ignoring a bad status record", "key", key, "error", err)
		return
	}
	w.statuses[key] = s
}

// waitRead waits until this worker has applied the record at offset of
// topic/partition.
func (w *Worker) waitRead(ctx context.Context, r *kgo.Record) error {
	k := fmt.Sprintf("%s/%d", r.Topic, r.Partition)
	for {
		w.mu.Lock()
		done, ch := w.read[k] > r.Offset, w.applied
		w.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for the worker to read its write to %s: %w", r.Topic, ctx.Err())
		}
	}
}

// putStatus writes a unit's state to StatusTopic (and to the metrics).
func (w *Worker) putStatus(unit, state, trace string) {
	st := Status{State: state, Worker: w.cfg.ID, Trace: trace, Updated: time.Now().UTC()}
	v, _ := json.Marshal(st) // cannot fail
	w.prod.Produce(context.Background(), &kgo.Record{Topic: StatusTopic, Key: []byte(statusKey(unit)), Value: v},
		func(_ *kgo.Record, err error) {
			if err != nil {
				w.log.Warn("write status", "unit", unit, "error", err)
			}
		})
	if w.cfg.Metrics != nil {
		if name, task, ok := parseConnectorUnit(unit); ok {
			_ = w.cfg.Metrics.SetTaskState(name, task, state)
		}
	}
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
