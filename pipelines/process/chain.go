package process

import (
	"errors"
	"fmt"
	"time"

	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	"github.com/tributary-io/tributary/pipelines/spec"
)

// Program is a pipeline's processors, compiled once. It is immutable and
// shared by every Chain that runs it.
type Program struct {
	name    string
	stages  []stageDef
	infos   []stageInfo // where each stage was declared
	limits  spec.Limits
	outputs map[string]bool
}

// stageDef is a compiled processor; instance returns what one Chain runs,
// the same value for stateless processors and a fresh state for the others.
type stageDef interface {
	instance() stage
}

// stage is a processor as one Chain runs it.
type stage interface {
	// apply processes m in place and says whether it goes on.
	apply(c *Chain, m *Message) (keep bool, err error)
}

// resetter is a stage with state that must be forgotten when the records it
// saw are processed again (after an aborted transaction or a rebalance).
type resetter interface{ reset() }

// Compile compiles every processor of p, named name in errors, and returns
// every problem at once, each at its place in the manifest.
func Compile(name string, p *spec.Pipeline) (*Program, spec.Problems) {
	c := &compiler{limits: p.Limits}
	prog := &Program{name: name, limits: p.Limits, outputs: map[string]bool{}}
	for _, o := range p.Outputs {
		prog.outputs[o.Name] = true
	}
	for i, pr := range p.Processors {
		if def := c.processor(pr, prog); def != nil {
			prog.stages = append(prog.stages, def)
			prog.infos = append(prog.infos, stageInfo{index: i, typ: pr.Type, pos: pr.Pos})
		}
	}
	if len(c.probs) > 0 {
		return nil, c.probs
	}
	return prog, nil
}

// Name is the pipeline's name.
func (p *Program) Name() string { return p.name }

// Chain runs a Program's processors on one goroutine: it owns the expression
// VM, the environment and the state of stateful processors. Create one per
// goroutine with NewChain.
type Chain struct {
	prog    *Program
	stages  []stage
	vm      vm.VM
	env     Env
	headers headerCache
	budget  budget
}

// Option configures a Chain.
type Option func(*Chain)

// WithClock replaces time.Now for the per-record time budget.
func WithClock(now func() time.Time) Option {
	return func(c *Chain) { c.budget.now = now }
}

// NewChain returns a Chain for one goroutine.
func (p *Program) NewChain(opts ...Option) *Chain {
	c := &Chain{prog: p, budget: budget{now: time.Now, limit: p.limits.RecordTimeout}}
	for _, o := range opts {
		o(c)
	}
	c.env.budget = &c.budget
	c.vm.MemoryBudget = uint(p.limits.MemoryBudget)
	for _, def := range p.stages {
		c.stages = append(c.stages, def.instance())
	}
	return c
}

// Error is a record's processing failure: which processor, where it is in
// the manifest, and why.
type Error struct {
	// Index is the processor's place in spec.processors, from 0.
	Index int
	Type  string
	Pos   spec.Pos
	Err   error
}

// Error says which processor failed where, and why.
func (e *Error) Error() string {
	return fmt.Sprintf("processor %d (%s at %s): %v", e.Index, e.Type, e.Pos, e.Err)
}

// Unwrap returns the cause, so errors.Is finds ErrTimeBudget.
func (e *Error) Unwrap() error { return e.Err }

// Process runs every processor on m, in place. keep is false when a
// processor dropped the record (filter, sample, dedupe, or a route that
// matched no output); otherwise m.Outputs() names where it goes. A non-nil
// error is an *Error.
func (c *Chain) Process(m *Message) (keep bool, err error) {
	c.budget.start()
	m.outputs = nil
	for i, s := range c.stages {
		keep, err := s.apply(c, m)
		if err == nil {
			err = c.budget.check()
		}
		if err != nil {
			in := c.prog.infos[i]
			return false, &Error{Index: in.index, Type: in.typ, Pos: in.pos, Err: err}
		}
		if !keep {
			return false, nil
		}
	}
	return true, nil
}

// Reset forgets the state of stateful processors (dedupe), for when records
// already seen will be processed again.
func (c *Chain) Reset() {
	for _, s := range c.stages {
		if r, ok := s.(resetter); ok {
			r.reset()
		}
	}
}

// eval runs p on m.
func (c *Chain) eval(p *program, m *Message) (any, error) {
	c.env.fill(m, p.uses, &c.headers)
	out, err := c.vm.Run(p.prog, &c.env)
	if err != nil {
		err = unwrapRuntime(err)
		if _, text := c.env.Value.(string); text && p.uses&useValue != 0 {
			// The usual cause: a field of a value that did not parse as JSON.
			err = &runtimeError{msg: err.Error() + " (the value is text, not a JSON document)", cause: errors.Unwrap(err)}
		}
		return nil, err
	}
	return out, nil
}

// runtimeError is an expression's run time error without expr-lang's
// multi-line snippet, which does not fit in a header or a log line.
type runtimeError struct {
	msg   string
	cause error
}

// Error is expr-lang's message.
func (e *runtimeError) Error() string { return e.msg }

// Unwrap returns what a function called by the expression failed with.
func (e *runtimeError) Unwrap() error { return e.cause }

func unwrapRuntime(err error) error {
	var fe *file.Error
	if errors.As(err, &fe) {
		return &runtimeError{msg: fe.Message, cause: fe.Prev}
	}
	return err
}

// evalBool runs a boolean program.
func (c *Chain) evalBool(p *program, m *Message) (bool, error) {
	out, err := c.eval(p, m)
	if err != nil {
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("want true or false, got %T", out)
	}
	return b, nil
}

// stageInfo says where a processor was declared.
type stageInfo struct {
	index int
	typ   string
	pos   spec.Pos
}
