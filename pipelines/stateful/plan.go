package stateful

import (
	"github.com/tributary-io/tributary/pipelines/process"
	"github.com/tributary-io/tributary/pipelines/spec"
)

// Plan is a pipeline with stateful steps, compiled: the runs of stateless
// processors between the stateful steps as process Programs, and the
// expressions of the stateful steps. It is immutable; Topology builds the
// streams topology that runs it.
type Plan struct {
	name  string
	spec  *spec.Pipeline
	steps []step
}

type stepKind int

const (
	chainStep stepKind = iota
	joinStep
	aggregateStep
)

// step is one stage of the plan: a run of stateless processors, a join,
// or an (optionally windowed) aggregate.
type step struct {
	kind stepKind
	// first is the index in spec.processors of the step's first processor,
	// so errors name the processor as the manifest numbers it.
	first int
	pos   spec.Pos
	// prog runs a chain step's processors.
	prog *process.Program
	join *spec.JoinSpec
	agg  *spec.AggregateSpec
	win  *spec.WindowSpec
	// key computes a join's table key or an aggregate's group key; field
	// an aggregate's input. Each is a one-processor program (map key or
	// map value), so expressions compile and run exactly as in other
	// processors.
	key, field *process.Program
	// repartition is set on a join whose input is not the input as read
	// (a key expression, or processors before it that may change the key):
	// the stream goes through a repartition topic by its key first.
	repartition bool
}

// Compile checks and compiles a pipeline with stateful steps (one that
// spec.Pipeline.Stateful reports), returning every problem at once, each
// at its place in the manifest. p must have passed spec validation.
func Compile(name string, p *spec.Pipeline) (*Plan, spec.Problems) {
	pl := &Plan{name: name, spec: p}
	var probs spec.Problems
	sub := func(procs []spec.Processor) *process.Program {
		cp := *p
		cp.Processors = procs
		prog, ps := process.Compile(name, &cp)
		probs = append(probs, ps...)
		return prog
	}
	exprProg := func(e spec.Expr, asKey bool) *process.Program {
		if e.IsZero() {
			return nil
		}
		m := &spec.MapSpec{Value: e}
		if asKey {
			m = &spec.MapSpec{Key: e}
		}
		return sub([]spec.Processor{{Type: "map", Pos: e.Pos, Path: e.Path, Map: m}})
	}
	start := 0
	flush := func(end int, final bool) {
		if end > start || final {
			pl.steps = append(pl.steps, step{kind: chainStep, first: start, prog: sub(p.Processors[start:end])})
		}
	}
	for i := 0; i < len(p.Processors); i++ {
		pr := p.Processors[i]
		if !spec.IsStateful(pr.Type) {
			continue
		}
		flush(i, false)
		switch pr.Type {
		case "join":
			pl.steps = append(pl.steps, step{kind: joinStep, first: i, pos: pr.Pos, join: pr.Join, key: exprProg(pr.Join.Key, true),
				repartition: !pr.Join.Key.IsZero() || len(pl.steps) > 0})
		case "window":
			// spec validation put the aggregate right after the window.
			if i+1 < len(p.Processors) && p.Processors[i+1].Aggregate != nil {
				a := p.Processors[i+1].Aggregate
				pl.steps = append(pl.steps, step{kind: aggregateStep, first: i + 1, pos: p.Processors[i+1].Pos, agg: a, win: pr.Window,
					key: exprProg(a.Key, true), field: exprProg(a.Field, false)})
				i++
			}
		case "aggregate":
			a := pr.Aggregate
			pl.steps = append(pl.steps, step{kind: aggregateStep, first: i, pos: pr.Pos, agg: a,
				key: exprProg(a.Key, true), field: exprProg(a.Field, false)})
		}
		start = i + 1
	}
	flush(len(p.Processors), true)
	if len(probs) > 0 {
		probs.Sort()
		return nil, probs.Dedupe()
	}
	return pl, nil
}

// Stateless compiles the stateless processors of p alone, in order, as the
// program a pipeline bundle carries for it; running it is not running the
// pipeline (Plan does that), but it gives callers that need a Program for
// every pipeline one that compiled.
func Stateless(name string, p *spec.Pipeline) (*process.Program, spec.Problems) {
	cp := *p
	cp.Processors = nil
	for _, pr := range p.Processors {
		if !spec.IsStateful(pr.Type) {
			cp.Processors = append(cp.Processors, pr)
		}
	}
	return process.Compile(name, &cp)
}

// Name is the pipeline's name.
func (pl *Plan) Name() string { return pl.name }

// Spec is the pipeline the plan was compiled from.
func (pl *Plan) Spec() *spec.Pipeline { return pl.spec }

// Join returns the table topic of the plan's join, and whether the stream
// is repartitioned by its key before the join (otherwise the input topics
// must have the table's partition count); ok is false without a join.
func (pl *Plan) Join() (table string, repartitioned, ok bool) {
	for _, st := range pl.steps {
		if st.join != nil {
			return st.join.Table, st.repartition, true
		}
	}
	return "", false, false
}
