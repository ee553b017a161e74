package spec

import (
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The stateful processor types. A pipeline with any of them runs on the
// streams runtime (package pipelines/stateful) instead of the plain
// consume-process-produce loop.
var statefulTypes = []string{"join", "window", "aggregate"}

// IsStateful reports whether a processor type keeps state in the streams
// runtime: join, window or aggregate.
func IsStateful(processorType string) bool { return contains(statefulTypes, processorType) }

// Stateful reports whether the pipeline has a join, window or aggregate
// step, and so runs on the streams runtime.
func (p *Pipeline) Stateful() bool {
	for _, pr := range p.Processors {
		if IsStateful(pr.Type) {
			return true
		}
	}
	return false
}

// The aggregate operations.
var aggregateOps = []string{"count", "sum", "min", "max", "avg", "collect"}

// AggregateSpec groups records by Key and folds each group (or each window
// of each group, after a window step) into one value.
type AggregateSpec struct {
	// Key computes the group a record belongs to; its result, as text, is
	// the output record's key.
	Key Expr
	// Op is count, sum, min, max, avg or collect.
	Op    string
	OpPos Pos
	// Field computes what sum, min, max, avg and collect read; count has
	// none. sum, min, max and avg need a number.
	Field Expr
}

// The window types.
var windowTypes = []string{"tumbling", "hopping", "sliding", "session"}

// WindowSpec makes the aggregate that follows it windowed, on event time:
// the record timestamp (set it with `set: {timestamp: ...}` before).
type WindowSpec struct {
	// Type is tumbling (Size), hopping (Size and Advance), sliding (Size,
	// the distance between records of one window) or session (Gap).
	Type          string
	Size, Advance time.Duration
	Gap           time.Duration
	// Grace accepts records that late after a window's end; later ones are
	// dropped and counted as late. Default 0.
	Grace time.Duration
	// Final emits each window once, when it closes (emit: final); the
	// default (emit: update) emits every change.
	Final bool
}

// JoinKinds are the join types.
var joinKinds = []string{"left", "inner"}

// JoinSpec enriches each record with the row of a table: the latest value
// per key of a topic.
type JoinSpec struct {
	// Table is the topic read as a table; TablePos where it is written.
	Table    string
	TablePos Pos
	// Key computes the table key to look up; empty means the record key.
	Key Expr
	// As is the field of the value that receives the row (null when the
	// table has none). Default: the table's name with every character
	// outside letters, digits and _ replaced by _.
	As string
	// Inner drops records whose key has no row (type: inner); the default
	// (type: left) keeps them.
	Inner bool
}

// fieldNameRE is a name that value.<name> can read in an expression.
var fieldNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

func (d *decoder) aggregateSpec(v *yaml.Node, path string) *AggregateSpec {
	a := &AggregateSpec{}
	o := d.object(v, path, "key", "op", "field")
	if o == nil {
		return a
	}
	a.Key = o.expr("key", true)
	if op := o.scalar("op", true, "count, sum, min, max, avg or collect"); op != nil {
		a.Op, a.OpPos = op.Value, d.pos(op)
		if !contains(aggregateOps, op.Value) {
			d.errorf(op, o.sub("op"), "unknown aggregate op %q%s", clip(op.Value), suggest(op.Value, aggregateOps))
		}
	}
	a.Field = o.expr("field", false)
	switch {
	case a.Op == "count" && !a.Field.IsZero():
		d.errorf(o.keys["field"], o.sub("field"), "count counts records and reads no field; remove field or use another op")
	case a.Op != "" && a.Op != "count" && contains(aggregateOps, a.Op) && a.Field.IsZero() && !o.has("field"):
		d.errorf(v, path, "missing required field \"field\" (the expression %s reads, like value.amount)", a.Op)
	}
	return a
}

func (d *decoder) windowSpec(v *yaml.Node, path string) *WindowSpec {
	w := &WindowSpec{}
	o := d.object(v, path, "type", "size", "advance", "gap", "grace", "emit")
	if o == nil {
		return w
	}
	if t := o.scalar("type", true, "tumbling, hopping, sliding or session"); t != nil {
		w.Type = t.Value
		if !contains(windowTypes, t.Value) {
			d.errorf(t, o.sub("type"), "unknown window type %q%s", clip(t.Value), suggest(t.Value, windowTypes))
		}
	}
	// Which durations each type takes; the others are mistakes.
	takes := map[string][]string{
		"tumbling": {"size"}, "hopping": {"size", "advance"},
		"sliding": {"size"}, "session": {"gap"},
	}[w.Type]
	for _, f := range []string{"size", "advance", "gap"} {
		given := o.has(f)
		switch {
		case takes == nil:
			o.duration(f, 0) // an unknown type: still check the value
		case contains(takes, f) && !given:
			o.missing(f, map[string]string{"size": "the window length, like 5m", "advance": "how far each window starts after the previous one, like 1m", "gap": "the inactivity that ends a session, like 30m"}[f])
		case !contains(takes, f) && given:
			d.errorf(o.keys[f], o.sub(f), "%s windows have no %s (they take %s)", w.Type, f, strings.Join(takes, " and "))
		}
	}
	w.Size = o.duration("size", 0)
	w.Advance = o.duration("advance", 0)
	w.Gap = o.duration("gap", 0)
	if w.Type == "hopping" && w.Advance > w.Size && w.Size > 0 {
		d.errorf(o.vals["advance"], o.sub("advance"), "advance %s is longer than size %s: windows would leave gaps", w.Advance, w.Size)
	}
	w.Grace = d.nonNegativeDuration(o, "grace")
	if e := o.scalar("emit", false, "update or final"); e != nil {
		switch e.Value {
		case "update":
		case "final":
			w.Final = true
		default:
			d.errorf(e, o.sub("emit"), "want update (every change) or final (once, when the window closes), got %s", describe(e))
		}
	}
	return w
}

// nonNegativeDuration returns a duration field that may be 0 (default 0).
func (d *decoder) nonNegativeDuration(o *object, name string) time.Duration {
	v := o.scalar(name, false, "a duration")
	if v == nil {
		return 0
	}
	dur, err := time.ParseDuration(v.Value)
	if err != nil || v.Value == "" {
		if v.Value == "0" {
			return 0
		}
		d.errorf(v, o.sub(name), "want a duration such as 0s, 30s or 5m, got %s", describe(v))
		return 0
	}
	if dur < 0 {
		d.errorf(v, o.sub(name), "must not be negative, got %s", v.Value)
		return 0
	}
	return dur
}

func (d *decoder) joinSpec(v *yaml.Node, path string) *JoinSpec {
	j := &JoinSpec{}
	o := d.object(v, path, "table", "key", "as", "type")
	if o == nil {
		return j
	}
	if t := o.scalar("table", true, "the topic read as a table"); t != nil {
		j.Table, j.TablePos = t.Value, d.pos(t)
		d.topicName(t, o.sub("table"))
		j.As = strings.Map(func(r rune) rune {
			if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
				return r
			}
			return '_'
		}, t.Value)
		if j.As != "" && j.As[0] >= '0' && j.As[0] <= '9' {
			j.As = "_" + j.As
		}
	}
	j.Key = o.expr("key", false)
	if as := o.scalar("as", false, "a field name"); as != nil {
		j.As = as.Value
		if !fieldNameRE.MatchString(as.Value) {
			d.errorf(as, o.sub("as"), "%q is not a field name: use letters, digits and _ (the row goes to value.<as>)", clip(as.Value))
		}
	}
	if t := o.scalar("type", false, "left or inner"); t != nil {
		switch t.Value {
		case "left":
		case "inner":
			j.Inner = true
		default:
			d.errorf(t, o.sub("type"), "unknown join type %q: want left (keep records without a row) or inner (drop them)", clip(t.Value))
		}
	}
	return j
}

// checkStateful enforces where stateful steps may appear and what a
// pipeline with them may use; see the package pipelines/stateful for why.
func (d *decoder) checkStateful(p *Pipeline) {
	var firstStateful, lastStateful *Processor
	var agg, join, window *Processor
	last := -1
	for i := range p.Processors {
		pr := &p.Processors[i]
		if !IsStateful(pr.Type) {
			continue
		}
		if firstStateful == nil {
			firstStateful = pr
		}
		lastStateful, last = pr, i
		switch pr.Type {
		case "aggregate":
			if agg != nil {
				d.probs.Add(pr.Pos, pr.Path, "a pipeline has at most one aggregate (the first is at %d:%d); chain another pipeline on its output topic", agg.Pos.Line, agg.Pos.Col)
			}
			agg = pr
		case "join":
			switch {
			case join != nil:
				d.probs.Add(pr.Pos, pr.Path, "a pipeline has at most one join (the first is at %d:%d)", join.Pos.Line, join.Pos.Col)
			case agg != nil:
				d.probs.Add(pr.Pos, pr.Path, "join must come before the aggregate at %d:%d: an aggregate's output is a table of results, not the input records", agg.Pos.Line, agg.Pos.Col)
			}
			join = pr
		case "window":
			if window != nil {
				d.probs.Add(pr.Pos, pr.Path, "a pipeline has at most one window (the first is at %d:%d)", window.Pos.Line, window.Pos.Col)
			}
			window = pr
			if i+1 >= len(p.Processors) || p.Processors[i+1].Type != "aggregate" {
				d.probs.Add(pr.Pos, pr.Path, "a window must be followed directly by the aggregate it windows")
			}
		}
	}
	if firstStateful == nil {
		return
	}
	if join != nil {
		for _, o := range p.Outputs {
			if o.Topic != "" && o.Topic == join.Join.Table {
				d.probs.Add(join.Join.TablePos, join.Path+".table", "topic %q is also an output: the join would read what the pipeline writes", o.Topic)
			}
		}
	}
	where := firstStateful.Path
	if !p.TopicToTopic() {
		d.probs.Add(firstStateful.Pos, where, "%s runs on the streams runtime, which reads and writes topics only: use topics as input and outputs", firstStateful.Type)
	}
	if p.Input.StartFrom == "latest" {
		d.probs.Add(p.Input.Pos, "spec.input.startFrom", "a pipeline with %s reads its input from the earliest offset (state must see every record); remove startFrom: latest", firstStateful.Type)
	}
	if p.OnError.Action == DeadLetter {
		d.probs.Add(p.OnError.Pos, "spec.onError.dead-letter", "a pipeline with %s cannot dead-letter yet (the streams runtime writes no record headers to carry the error): use drop or stop", firstStateful.Type)
	}
	for i := range p.Processors[:last] {
		if pr := &p.Processors[i]; pr.Type == "route" {
			d.probs.Add(pr.Pos, pr.Path, "route must come after the last stateful step (%s at %d:%d): it chooses outputs for the records that step emits", lastStateful.Type, lastStateful.Pos.Line, lastStateful.Pos.Col)
		}
	}
}
