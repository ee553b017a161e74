package process

import (
	"errors"
	"fmt"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	"github.com/tributary-io/tributary/pipelines/spec"
)

// tickName is the function the compiler calls in every loop body to keep
// the per-record time budget. Users can call it too; it does nothing else.
const tickName = "__tick"

// program is one compiled expression: compiled once, run for every record.
// A *vm.Program is safe to share between goroutines; the VM that runs it is
// not, so each Chain has its own.
type program struct {
	prog *vm.Program
	uses uint8 // the Env parts it reads
	src  spec.Expr
}

// compiler compiles the expressions of one pipeline and collects every
// problem with its position.
type compiler struct {
	limits spec.Limits
	probs  spec.Problems
}

// compile type-checks e against Env; asBool requires a boolean result.
// It returns nil, with a problem recorded, when e does not compile.
func (c *compiler) compile(e spec.Expr, asBool bool) *program {
	if e.IsZero() {
		return nil
	}
	var uses uint8
	opts := []expr.Option{
		expr.Env(&Env{}),
		expr.MaxNodes(uint(c.limits.MaxNodes)),
		// repeat builds strings of any size outside the memory budget.
		expr.DisableBuiltin("repeat"),
		expr.Function(tickName, tick),
		expr.Patch(&patcher{uses: &uses}),
	}
	if asBool {
		opts = append(opts, expr.AsBool())
	}
	p, err := expr.Compile(e.Src, opts...)
	if err != nil {
		c.report(e, err, asBool)
		return nil
	}
	return &program{prog: p, uses: uses, src: e}
}

// report turns expr-lang's compile error into a problem at the place in
// the file where the bad token is.
func (c *compiler) report(e spec.Expr, err error, asBool bool) {
	var fe *file.Error
	msg, pos := err.Error(), e.Pos
	if errors.As(err, &fe) {
		msg, pos = fe.Message, e.PosAt(fe.From)
	}
	switch {
	case strings.Contains(msg, "exceeds maximum allowed nodes"):
		msg, pos = fmt.Sprintf("the expression is too big: more than %d nodes (spec.limits.maxNodes)", c.limits.MaxNodes), e.Pos
	case asBool && strings.HasPrefix(msg, "expected bool, but got "):
		msg = "want a boolean expression, but its type is " + strings.TrimPrefix(msg, "expected bool, but got ")
	}
	c.probs.Add(pos, e.Path, "%s", msg)
}

// tick is the time budget check patched into loops; its argument is $env.
func tick(params ...any) (any, error) {
	if len(params) == 1 {
		if env, ok := params[0].(*Env); ok && env.budget != nil {
			return nil, env.budget.tick()
		}
	}
	return nil, nil
}

// patcher notes which Env names an expression reads and makes every
// predicate (the body of all, any, map, filter, reduce, ...) start with a
// call to the time budget check, so no loop can run past it.
type patcher struct{ uses *uint8 }

// Visit is called by expr-lang for every node, children first.
func (p *patcher) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		*p.uses |= envNames[n.Value]
	case *ast.PredicateNode:
		loc := n.Node.Location()
		call := &ast.CallNode{
			Callee:    &ast.IdentifierNode{Value: tickName},
			Arguments: []ast.Node{&ast.IdentifierNode{Value: "$env"}},
		}
		call.SetLocation(loc)
		seq := &ast.SequenceNode{Nodes: []ast.Node{call, n.Node}}
		seq.SetLocation(loc)
		n.Node = seq
	}
}
