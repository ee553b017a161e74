package stateful

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/tributary-io/tributary/streams"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// Value is a decoded JSON document (or, for non-JSON bytes, the string).
type Value = any

// rawSerde decodes values as JSON when they parse, else as a string, and
// encodes them as JSON.
type rawSerde struct{}

func (rawSerde) Encode(v Value) ([]byte, error) { return json.Marshal(v) }

func (rawSerde) Decode(b []byte) (Value, error) {
	var v any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return string(b), nil
	}
	return normalize(v), nil
}

// normalize turns json.Numbers into int64 when they are integers and float64
// otherwise, as pipelines' expressions expect.
func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
	}
	return v
}

// compiled is an expression over key, value and timestamp.
type compiled struct {
	src  string
	prog *vm.Program
}

// env is what expressions see; value is untyped so any field of a JSON
// document compiles.
type env struct {
	Key       string `expr:"key"`
	Value     any    `expr:"value"`
	Timestamp int64  `expr:"timestamp"`
}

func compile(what, src string) (*compiled, error) {
	p, err := expr.Compile(src, expr.Env(env{}))
	if err != nil {
		return nil, fmt.Errorf("stateful spec: %s %q: %w", what, src, err)
	}
	return &compiled{src: src, prog: p}, nil
}

func (c *compiled) eval(key string, value Value, ts int64) (any, error) {
	out, err := expr.Run(c.prog, env{Key: key, Value: value, Timestamp: ts})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.src, err)
	}
	return out, nil
}

// Build builds the topology of s. Expression errors at run time (a missing
// field) drop the record, as the pipelines' processors do with a dead
// letter; errs counts them for the caller.
func Build(s *Spec) (*streams.Topology, *Errors, error) {
	if err := s.Validate(); err != nil {
		return nil, nil, err
	}
	errs := &Errors{}
	b := streams.NewBuilder()
	stream := streams.FromTopic(b, streams.String(), streams.Serde[Value](rawSerde{}), s.Input)
	if s.Timestamp != "" {
		ts, err := compile("timestamp", s.Timestamp)
		if err != nil {
			return nil, nil, err
		}
		stream = streams.WithTimestamp(stream, func(k string, v Value, cur int64) int64 {
			out, err := ts.eval(k, v, cur)
			n, ok := toFloat(out)
			if err != nil || !ok {
				errs.add(err)
				return cur
			}
			return int64(n)
		})
	}
	if j := s.Join; j != nil {
		as := j.As
		if as == "" {
			as = "joined"
		}
		table := streams.FromTable(b, j.Table, "join-"+j.Table, streams.String(), streams.Serde[Value](rawSerde{}))
		stream = streams.LeftJoinStreamTable(stream, table, func(_ string, v Value, row Value, found bool) Value {
			m, ok := v.(map[string]any)
			if !ok {
				m = map[string]any{"value": v}
			}
			if found {
				m[as] = row
			} else {
				m[as] = nil
			}
			return m
		})
		if j.Inner {
			stream = stream.Filter(func(_ string, v Value) bool { return v.(map[string]any)[as] != nil })
		}
	}
	if s.Aggregate == nil {
		stream.To(s.Output, streams.String(), streams.Serde[Value](rawSerde{}))
		return mustBuild(b, errs)
	}
	keyExpr, err := compile("key", s.Key)
	if err != nil {
		return nil, nil, err
	}
	var field *compiled
	if s.Aggregate.Field != "" {
		if field, err = compile("aggregate.field", s.Aggregate.Field); err != nil {
			return nil, nil, err
		}
	}
	// The field is evaluated before grouping, so the aggregation sees a
	// plain number or item; records whose expressions fail are dropped.
	keyed := streams.FlatMap(stream, func(k string, v Value) []streams.KeyValue[string, Value] {
		gk, err := keyExpr.eval(k, v, 0)
		if err != nil {
			errs.add(err)
			return nil
		}
		// A nil value would read as a deletion downstream, so count
		// carries a placeholder.
		var fv Value = int64(1)
		if field != nil {
			if fv, err = field.eval(k, v, 0); err != nil {
				errs.add(err)
				return nil
			}
		}
		return []streams.KeyValue[string, Value]{streams.KV(fmt.Sprint(gk), fv)}
	})
	grouped := streams.Repartition(keyed, "stateful-key", streams.String(), streams.Serde[Value](rawSerde{})).
		GroupByKey(streams.String(), streams.Serde[Value](rawSerde{}))
	op := s.Aggregate.Op
	add := func(_ string, v Value, a acc) acc { return a.add(op, v) }
	merge := func(_ string, x, y acc) acc { return x.merge(y) }
	accSerde := streams.JSON[acc]()
	if s.Window == nil {
		table := streams.Aggregate(grouped, "aggregate", func() acc { return acc{} }, add, accSerde)
		out := streams.Map(table.ToStream(), func(k string, a acc) (string, Value) {
			return k, map[string]any{"key": k, "value": a.result(op)}
		})
		out.To(s.Output, streams.String(), streams.Serde[Value](rawSerde{}))
		return mustBuild(b, errs)
	}
	w := s.Window
	var win streams.Windows
	switch w.Type {
	case "tumbling":
		win = streams.TumblingWindows(w.Size)
	case "hopping":
		win = streams.HoppingWindows(w.Size, w.Advance)
	case "session":
		win = streams.SessionWindows(w.Gap)
	}
	emit := streams.EmitEveryUpdate
	if w.Emit == "final" {
		emit = streams.EmitFinal
	}
	table := streams.WindowedAggregate(grouped.WindowedBy(win.Grace(w.Grace)), "window", emit,
		func() acc { return acc{} }, add, merge, accSerde)
	out := streams.Map(table.ToStream(), func(k streams.Windowed[string], a acc) (string, Value) {
		return k.Key, map[string]any{"key": k.Key, "start": k.Start, "end": k.End, "value": a.result(op)}
	})
	out.To(s.Output, streams.String(), streams.Serde[Value](rawSerde{}))
	return mustBuild(b, errs)
}

func mustBuild(b *streams.Builder, errs *Errors) (*streams.Topology, *Errors, error) {
	top, err := b.Build()
	if err != nil {
		return nil, nil, err
	}
	return top, errs, nil
}

// Errors counts records dropped because an expression failed, and keeps the
// last error. Only the goroutine running the topology writes it.
type Errors struct {
	Count int64
	Last  error
}

func (e *Errors) add(err error) {
	e.Count++
	if err == nil {
		err = fmt.Errorf("expression did not return a number")
	}
	e.Last = err
}

// acc is the aggregation state of one key (or window): enough for every op.
type acc struct {
	N     int64   `json:"n"`
	Sum   float64 `json:"sum"`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
	Items []any   `json:"items,omitempty"`
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func (a acc) add(op string, v Value) acc {
	f, _ := toFloat(v)
	if a.N == 0 {
		a.Min, a.Max = f, f
	}
	a.N++
	a.Sum += f
	a.Min, a.Max = math.Min(a.Min, f), math.Max(a.Max, f)
	if op == "collect" {
		a.Items = append(a.Items, v)
	}
	return a
}

func (a acc) merge(b acc) acc {
	switch {
	case a.N == 0:
		return b
	case b.N == 0:
		return a
	}
	a.N += b.N
	a.Sum += b.Sum
	a.Min, a.Max = math.Min(a.Min, b.Min), math.Max(a.Max, b.Max)
	a.Items = append(a.Items, b.Items...)
	return a
}

func (a acc) result(op string) Value {
	switch op {
	case "count":
		return a.N
	case "sum":
		return a.Sum
	case "min":
		return a.Min
	case "max":
		return a.Max
	case "avg":
		if a.N == 0 {
			return 0.0
		}
		return a.Sum / float64(a.N)
	default:
		if a.Items == nil {
			return []any{}
		}
		return a.Items
	}
}
