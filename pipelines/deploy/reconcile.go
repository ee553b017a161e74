package deploy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tributary-io/tributary/pipelines"
	"github.com/tributary-io/tributary/pipelines/connect"
	"github.com/tributary-io/tributary/pipelines/runner"
	"github.com/tributary-io/tributary/sdk"
)

// unitDef is one unit a spec asks for.
type unitDef struct {
	id   string
	spec *Spec
	task int
	fp   string
	// topics are bridge topics the unit needs (bridge.go).
	topics []bridgeTopic
}

// unitsOf lists the units of s: one per connector task, one per pipeline
// followed by the tasks of its connector input and outputs.
func unitsOf(s *Spec) []unitDef {
	if s.Kind == KindPipeline {
		out := []unitDef{{id: pipelineUnit(s.Name), spec: s, fp: s.fingerprint(0)}}
		if b := s.bridge; b != nil {
			out[0].topics = b.topics
			for _, c := range b.conns {
				units := unitsOf(c)
				for i := range units {
					units[i].topics = b.topics
				}
				out = append(out, units...)
			}
		}
		return out
	}
	cfg, _ := connect.Parse(s.Name, s.Config)
	n := max(cfg.Tasks, 1)
	out := make([]unitDef, n)
	for i := range n {
		out[i] = unitDef{id: connectorUnit(s.Name, i), spec: s, task: i, fp: s.fingerprint(i)}
	}
	return out
}

func parseConnectorUnit(unit string) (name string, task int, ok bool) {
	rest, ok := strings.CutPrefix(unit, "connector/")
	if !ok {
		return "", 0, false
	}
	i := strings.LastIndexByte(rest, '/')
	if i < 0 {
		return "", 0, false
	}
	task, err := strconv.Atoi(rest[i+1:])
	return rest[:i], task, err == nil
}

// assigned computes every unit and the ones this worker owns.
func (w *Worker) assigned() (all []unitDef, mine map[string]unitDef) {
	w.mu.Lock()
	for _, s := range w.specs {
		all = append(all, unitsOf(s)...)
	}
	w.mu.Unlock()
	slices.SortFunc(all, func(a, b unitDef) int { return strings.Compare(a.id, b.id) })
	workers, _ := w.bal.members()
	self := slices.IndexFunc(workers, func(m memberMeta) bool { return m.ID == w.cfg.ID })
	mine = map[string]unitDef{}
	if self < 0 {
		return all, mine
	}
	for i, u := range all {
		if owner(i, len(workers)) == self {
			mine[u.id] = u
		}
	}
	return all, mine
}

// reconcileLoop starts and stops units whenever specs or membership
// change, and once a second in case a status write was lost.
func (w *Worker) reconcileLoop(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			for id := range w.units {
				w.stopUnit(id)
			}
			return
		case <-w.wake:
		case <-tick.C:
		}
		w.reconcile(ctx)
	}
}

func (w *Worker) reconcile(ctx context.Context) {
	_, mine := w.assigned()
	for id, r := range w.units {
		u, ok := mine[id]
		if ok && u.fp == r.fp && !u.spec.Paused {
			continue
		}
		w.stopUnit(id)
		if ok && u.spec.Paused {
			w.putStatus(id, connect.StatePaused, "")
		}
	}
	ids := make([]string, 0, len(mine))
	for id := range mine {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		u := mine[id]
		if _, ok := w.units[id]; ok {
			continue
		}
		if u.spec.Paused {
			if st, ok := w.Status(id); !ok || st.State != connect.StatePaused || st.Worker != w.cfg.ID {
				w.putStatus(id, connect.StatePaused, "")
			}
			continue
		}
		w.startUnit(ctx, u)
	}
	w.syncConnectorMetrics()
	w.forgetDeletedLogs()
}

func (w *Worker) stopUnit(id string) {
	r := w.units[id]
	r.cancel()
	<-r.done
	delete(w.units, id)
	w.log.Info("unit stopped", "unit", id)
}

func (w *Worker) startUnit(ctx context.Context, u unitDef) {
	uctx, cancel := context.WithCancel(ctx)
	r := &running{fp: u.fp, cancel: cancel, done: make(chan struct{})}
	w.units[u.id] = r
	// Series forgotten on delete: a pipeline's records, the task states of
	// its bridge connectors.
	if u.spec.Kind == KindPipeline || isBridgeName(u.spec.Name) {
		w.reported[u.spec.Key()] = true
	}
	w.log.Info("unit starting", "unit", u.id)
	go func() {
		defer close(r.done)
		var err error
		if u.spec.Kind == KindPipeline {
			err = w.runPipeline(uctx, u)
		} else {
			err = w.runTask(uctx, u)
		}
		if err != nil && uctx.Err() == nil {
			w.log.Error("unit failed", "unit", u.id, "error", err)
		}
	}()
}

// runTask runs one connector task until ctx ends or it fails for good.
func (w *Worker) runTask(ctx context.Context, u unitDef) error {
	cfg, probs := connect.Parse(u.spec.Name, u.spec.Config)
	if len(probs) > 0 {
		err := fmt.Errorf("invalid connector config: %v", probs)
		w.putStatus(u.id, connect.StateFailed, err.Error())
		return err
	}
	if w.cfg.Host == nil {
		err := errors.New("this worker has no plugin host (no plugin directory)")
		w.putStatus(u.id, connect.StateFailed, err.Error())
		return err
	}
	if len(u.topics) > 0 {
		if err := ensureBridgeTopics(ctx, w.prod, u.topics); err != nil {
			w.putStatus(u.id, connect.StateFailed, err.Error())
			return err
		}
	}
	tc := connect.TaskConfig{
		Connector: cfg, Task: u.task, Host: w.cfg.Host, Seeds: w.cfg.Seeds, ClientOpts: w.cfg.ClientOpts,
		Logger: w.log, SessionTimeout: w.cfg.SessionTimeout,
		OnState: func(state, trace string) { w.putStatus(u.id, state, trace) },
	}
	var run func(context.Context) error
	if cfg.Kind == sdk.KindSink {
		t, err := connect.NewSinkTask(tc)
		if err != nil {
			return err
		}
		run = t.Run
	} else {
		t, err := connect.NewSourceTask(tc)
		if err != nil {
			return err
		}
		run = t.Run
	}
	return run(ctx)
}

// runPipeline runs a pipeline until ctx ends; failures other than a stop
// on a record error are retried with backoff. What it logs also goes to the
// pipeline's ring (PipelineLogs).
func (w *Worker) runPipeline(ctx context.Context, u unitDef) error {
	runLog := w.logs.logger(w.log, u.spec.Name)
	log := runLog.With("pipeline", u.spec.Name)
	fail := func(err error) error {
		w.putStatus(u.id, connect.StateFailed, err.Error())
		log.Error("pipeline failed", "error", err)
		return err
	}
	b, probs := pipelines.LoadBytes(ctx, "pipeline/"+u.spec.Name, []byte(u.spec.Manifest), pipelines.Options{})
	if len(probs) > 0 {
		return fail(fmt.Errorf("invalid pipeline manifest: %w", probs))
	}
	m, prog, err := b.Pipeline(u.spec.Name)
	if err != nil {
		return fail(err)
	}
	// Connector input and outputs run as their own units; the runner reads
	// and writes their bridge topics.
	pipeline := topicToTopic(u.spec.Name, m.Pipeline)
	var records runner.RecordCounter
	if w.cfg.Metrics != nil || w.pipeMetrics != nil {
		records = newPipelineRecords(w.cfg.Metrics, w.pipeMetrics, u.spec.Name)
	}
	delay := 200 * time.Millisecond
	for {
		start := time.Now()
		err := ensureBridgeTopics(ctx, w.prod, u.topics)
		if err == nil {
			var r *runner.Runner
			r, err = runner.New(runner.Config{
				Name: u.spec.Name, Spec: pipeline, Program: prog, Seeds: w.cfg.Seeds, ClientOpts: w.cfg.ClientOpts,
				InstanceID: w.cfg.ID, Logger: runLog, SessionTimeout: w.cfg.SessionTimeout, Records: records,
			})
			if err != nil {
				return fail(err)
			}
			log.Info("pipeline starting", "group", runner.Group(u.spec.Name), "plan", pipeline.String())
			w.putStatus(u.id, connect.StateRunning, "")
			err = w.runRunner(ctx, u.spec.Name, r, log)
			if ctx.Err() != nil {
				return nil
			}
			if err == nil || errors.Is(err, runner.ErrStopped) {
				if err == nil {
					err = errors.New("pipeline runner returned")
				}
				return fail(err)
			}
		}
		if time.Since(start) > time.Minute {
			delay = 200 * time.Millisecond
		}
		w.putStatus(u.id, connect.StateRestarting, err.Error())
		log.Warn("pipeline failed; restarting", "delay", delay.String(), "error", err)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		delay = min(delay*2, 30*time.Second)
	}
}

// statsInterval is how often a running pipeline logs its counters.
const statsInterval = 30 * time.Second

// runRunner runs r until it returns, publishing its state store and lag
// meanwhile and logging its counters every statsInterval and at the end.
func (w *Worker) runRunner(ctx context.Context, name string, r *runner.Runner, log *slog.Logger) error {
	if r.Stateful() {
		w.stores.set(name, r.StoreHandler())
		defer w.stores.set(name, nil)
	}
	if w.pipeMetrics != nil {
		w.pipeMetrics.setRunning(name, r)
		defer w.pipeMetrics.setRunning(name, nil)
	}
	return r.RunLogged(ctx, log, statsInterval)
}
