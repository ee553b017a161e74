package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/pipelines"
	"github.com/tributary-io/tributary/pipelines/connect"
	"github.com/tributary-io/tributary/sdk"
)

// Errors of the deployment API.
var (
	// ErrNotFound: no connector or pipeline has that name.
	ErrNotFound = errors.New("deploy: not found")
	// ErrExists: Create found one with that name already.
	ErrExists = errors.New("deploy: already exists")
)

// InvalidError lists every problem of a rejected spec. Problems are a
// connector's (field, value, reason); Lines a pipeline manifest's
// (file:line:col: path: message).
type InvalidError struct {
	Problems []sdk.Problem
	Lines    []string
}

func (e *InvalidError) Error() string {
	var parts []string
	for _, p := range e.Problems {
		parts = append(parts, p.String())
	}
	parts = append(parts, e.Lines...)
	return fmt.Sprintf("invalid configuration (%d problems):\n  %s", len(parts), strings.Join(parts, "\n  "))
}

// List returns the specs of kind, sorted by name.
func (w *Worker) List(kind Kind) []*Spec {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []*Spec
	for _, s := range w.specs {
		if s.Kind == kind {
			c := *s
			c.Config, c.TaskRestarts = maps.Clone(s.Config), maps.Clone(s.TaskRestarts)
			out = append(out, &c)
		}
	}
	slices.SortFunc(out, func(a, b *Spec) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Get returns the spec of kind called name.
func (w *Worker) Get(kind Kind, name string) (*Spec, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.specs[Key(kind, name)]
	if !ok {
		return nil, fmt.Errorf("%w: %s %q", ErrNotFound, kind, name)
	}
	c := *s
	c.Config, c.TaskRestarts = maps.Clone(s.Config), maps.Clone(s.TaskRestarts)
	return &c, nil
}

// Status returns the last status of a unit.
func (w *Worker) Status(unit string) (Status, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.statuses[unit]
	return s, ok
}

// UnitStatus is the status of one unit of a spec.
type UnitStatus struct {
	// Task is the task number of a connector task; 0 for a pipeline.
	Task int `json:"id"`
	// Unit is the unit's id: "pipeline/<name>", or
	// "connector/<name>/<task>" for a connector task (of a pipeline's
	// connector input or output, for a pipeline spec).
	Unit string `json:"unit"`
	Status
}

// Statuses returns the status of every unit of the spec of kind called
// name; a unit nobody reported on yet is unassigned.
func (w *Worker) Statuses(kind Kind, name string) ([]UnitStatus, error) {
	s, err := w.Get(kind, name)
	if err != nil {
		return nil, err
	}
	var out []UnitStatus
	for _, u := range unitsOf(s) {
		st, ok := w.Status(u.id)
		if !ok {
			st = Status{State: connect.StateUnassigned}
		}
		out = append(out, UnitStatus{Task: u.task, Unit: u.id, Status: st})
	}
	return out, nil
}

// Overall sums up unit states as one: paused, failed when any unit failed,
// running when all run, otherwise the first other state.
func Overall(paused bool, units []UnitStatus) string {
	if paused {
		return connect.StatePaused
	}
	state := connect.StateRunning
	for _, u := range units {
		switch {
		case u.State == connect.StateFailed:
			return connect.StateFailed
		case u.State != connect.StateRunning && state == connect.StateRunning:
			state = u.State
		}
	}
	return state
}

// Workers lists the live workers of the last assignment this one got.
func (w *Worker) Workers() []string {
	ms, _ := w.bal.members()
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

// ValidateConnector checks a connector's configuration completely (runtime
// keys and the plugin's spec) and lists every problem.
func (w *Worker) ValidateConnector(ctx context.Context, name string, raw map[string]string) ([]sdk.Problem, error) {
	var v connect.Validator
	if w.cfg.Host != nil {
		v = w.cfg.Host
	}
	_, probs, err := connect.Validate(ctx, v, name, raw)
	if err == nil && w.cfg.Host == nil {
		probs = append(probs, sdk.Problem{Field: connect.KeyPlugin, Value: raw[connect.KeyPlugin], Reason: "this worker has no plugin directory, so no plugin can run"})
	}
	return probs, err
}

// ValidatePipeline checks a pipeline manifest as tributary lint does, with
// connector configs checked by the plugins, and that the workers can run
// it.
func (w *Worker) ValidatePipeline(ctx context.Context, name, manifest string) error {
	var opts pipelines.Options
	if w.cfg.Host != nil {
		opts.Connectors = w.cfg.Host
	}
	b, probs := pipelines.LoadBytes(ctx, "pipeline/"+name, []byte(manifest), opts)
	if len(probs) > 0 {
		lines := make([]string, len(probs))
		for i, p := range probs {
			lines[i] = p.String()
		}
		return &InvalidError{Lines: lines}
	}
	m, _, err := b.Pipeline(name)
	if err != nil {
		return &InvalidError{Lines: []string{fmt.Sprintf("the manifest must declare one Pipeline called %q: %v", name, err)}}
	}
	if !m.Pipeline.TopicToTopic() && w.cfg.Host == nil {
		return &InvalidError{Lines: []string{fmt.Sprintf("%s: pipeline %s has connectors, and this worker has no plugin directory, so no plugin can run", m.Pos, name)}}
	}
	return nil
}

// Put creates or replaces the connector or pipeline s after validating it,
// keeping its pause state and restart counters, and waits until this worker
// has read it back. created reports that none existed; changed that the
// content differs from what was deployed.
func (w *Worker) Put(ctx context.Context, s *Spec) (created, changed bool, err error) {
	switch s.Kind {
	case KindConnector:
		probs, err := w.ValidateConnector(ctx, s.Name, s.Config)
		if err != nil {
			return false, false, err
		}
		if isBridgeName(s.Name) {
			probs = append(probs, sdk.Problem{Field: "name", Value: s.Name, Reason: "names starting with " + BridgePrefix + " are the connectors of pipelines' connector inputs and outputs"})
		}
		if len(probs) > 0 {
			return false, false, &InvalidError{Problems: probs}
		}
	case KindPipeline:
		if err := w.ValidatePipeline(ctx, s.Name, s.Manifest); err != nil {
			return false, false, err
		}
		// Bridge topics exist before the spec does, so the parts that
		// start first find them.
		if b := bridgeOf(s); b != nil {
			if err := ensureBridgeTopics(ctx, w.prod, b.topics); err != nil {
				return false, false, err
			}
		}
	default:
		return false, false, fmt.Errorf("unknown kind %q", s.Kind)
	}
	prev, err := w.Get(s.Kind, s.Name)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return false, false, err
	}
	next := &Spec{Kind: s.Kind, Name: s.Name, Config: maps.Clone(s.Config), Manifest: s.Manifest}
	if prev != nil {
		if SameContent(prev, next) {
			return false, false, nil
		}
		next.Paused, next.Restarts, next.TaskRestarts = prev.Paused, prev.Restarts, prev.TaskRestarts
	}
	if err := w.write(ctx, next); err != nil {
		return false, false, err
	}
	return prev == nil, true, nil
}

// Delete removes the connector or pipeline: its units stop, its statuses
// are deleted. Source positions stay, as in Kafka Connect, so a connector
// created again under the same name resumes.
func (w *Worker) Delete(ctx context.Context, kind Kind, name string) error {
	s, err := w.Get(kind, name)
	if err != nil {
		return err
	}
	rec := &kgo.Record{Topic: ConfigsTopic, Key: []byte(s.Key())}
	if err := w.prod.ProduceSync(ctx, rec).FirstErr(); err != nil {
		return fmt.Errorf("delete %s %s: %w", kind, name, err)
	}
	if err := w.waitRead(ctx, rec); err != nil {
		return err
	}
	var tombs []*kgo.Record
	for _, u := range unitsOf(s) {
		tombs = append(tombs, &kgo.Record{Topic: StatusTopic, Key: []byte(statusKey(u.id))})
	}
	if err := w.prod.ProduceSync(ctx, tombs...).FirstErr(); err != nil {
		w.log.Warn("delete statuses", "error", err)
	}
	if w.cfg.Metrics != nil && kind == KindConnector {
		w.cfg.Metrics.ForgetConnector(name)
	}
	return nil
}

// SetPaused pauses or resumes every unit of the spec.
func (w *Worker) SetPaused(ctx context.Context, kind Kind, name string, paused bool) error {
	return w.modify(ctx, kind, name, func(s *Spec) { s.Paused = paused })
}

// Restart restarts every unit of the spec (task < 0) or one task.
func (w *Worker) Restart(ctx context.Context, kind Kind, name string, task int) error {
	return w.modify(ctx, kind, name, func(s *Spec) {
		if task < 0 {
			s.Restarts++
			return
		}
		s.TaskRestarts = maps.Clone(s.TaskRestarts)
		if s.TaskRestarts == nil {
			s.TaskRestarts = map[int]int64{}
		}
		s.TaskRestarts[task]++
	})
}

func (w *Worker) modify(ctx context.Context, kind Kind, name string, f func(*Spec)) error {
	s, err := w.Get(kind, name)
	if err != nil {
		return err
	}
	f(s)
	return w.write(ctx, s)
}

// write stores s and waits until this worker has read it back.
func (w *Worker) write(ctx context.Context, s *Spec) error {
	s.Updated = time.Now().UTC()
	v, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode spec: %w", err)
	}
	rec := &kgo.Record{Topic: ConfigsTopic, Key: []byte(s.Key()), Value: v}
	if err := w.prod.ProduceSync(ctx, rec).FirstErr(); err != nil {
		return fmt.Errorf("store %s %s: %w", s.Kind, s.Name, err)
	}
	return w.waitRead(ctx, rec)
}
