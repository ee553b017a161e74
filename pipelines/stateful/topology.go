package stateful

import (
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/tributary-io/tributary/pipelines/process"
	"github.com/tributary-io/tributary/pipelines/spec"
	"github.com/tributary-io/tributary/streams"
)

// The names of the state stores a plan's topology has. Their changelog
// topics are <application id>-<store>-changelog.
const (
	// AggregateStore holds an aggregate without a window: group key → state.
	AggregateStore = "aggregate"
	// WindowStore holds a windowed aggregate: (group key, window) → state.
	WindowStore = "window"
)

// JoinStore is the store holding the table a join reads.
func JoinStore(table string) string { return "join-" + table }

// ErrRecord wraps the error of a record that failed when the pipeline's
// onError is stop: the topology returns it, which ends the streams App.
var ErrRecord = errors.New("stateful: a record failed")

// Counters count what a plan's topology did. The streams runtime updates
// them from its processing goroutines; records processed again after an
// aborted transaction are counted again.
type Counters struct {
	// In counts input records; Out records written to outputs (one record
	// routed to two outputs counts twice).
	In, Out atomic.Uint64
	// Filtered counts records dropped by filter, sample, dedupe, an inner
	// join without a row, or a route that matched no output.
	Filtered atomic.Uint64
	// Errors counts records whose processing failed.
	Errors atomic.Uint64
}

// routed is a record leaving the last chain: its value and the topics it
// goes to.
type routed struct {
	value []byte
	to    []string
}

// Topology builds the streams topology that runs the plan, counting into
// c (which must not be nil). Build a new one for every App: the topology
// is immutable, but its processors count into c.
func (pl *Plan) Topology(c *Counters) (*streams.Topology, error) {
	b := streams.NewBuilder()
	var topics []string
	for _, t := range pl.spec.Input.Topics {
		topics = append(topics, t.Name)
	}
	s := streams.FromTopic(b, streams.Bytes(), streams.Bytes(), topics...).
		Peek(func([]byte, []byte) { c.In.Add(1) })
	for i, st := range pl.steps {
		switch st.kind {
		case chainStep:
			if i == len(pl.steps)-1 {
				pl.outputs(s, st, c)
				continue
			}
			s = streams.Process(s, func() streams.Processor[[]byte, []byte, []byte, []byte] {
				return &chainProc[[]byte]{pl: pl, st: st, c: c, emit: func(m *process.Message, v []byte) ([]byte, bool) { return v, true }}
			})
		case joinStep:
			s = pl.joinStream(b, s, st, c)
		case aggregateStep:
			s = pl.aggregateStream(s, st, c)
		}
	}
	return b.Build()
}

// fail handles a record's error by the pipeline's onError: stop returns an
// error wrapping ErrRecord, drop counts it and returns nil. (Dead letters
// are refused by spec validation for stateful pipelines.)
func (pl *Plan) fail(c *Counters, err error) error {
	c.Errors.Add(1)
	if pl.spec.OnError.Action == spec.Stop {
		return fmt.Errorf("%w: %w", ErrRecord, err)
	}
	return nil
}

// stepError names the stateful processor a key or field expression of
// failed in, as the manifest numbers it.
func stepError(st step, typ, part string, err error) error {
	var pe *process.Error
	if errors.As(err, &pe) {
		err = pe.Err
		if inner := errors.Unwrap(err); inner != nil {
			err = inner // drop the synthetic map's "key: " or "value: "
		}
	}
	return &process.Error{Index: st.first, Type: typ, Pos: st.pos, Err: fmt.Errorf("%s: %w", part, err)}
}

// chainProc runs a chain step's processors on each record of one task; a
// new one (with a fresh Chain, so dedupe state) is made per task, and a task
// is rebuilt after an aborted transaction, so no state outlives the
// records it saw. emit turns the processed message into the output value.
type chainProc[V any] struct {
	pl    *Plan
	st    step
	c     *Counters
	ctx   streams.ProcessorContext[[]byte, V]
	chain *process.Chain
	emit  func(m *process.Message, value []byte) (V, bool)
}

func (p *chainProc[V]) Init(ctx streams.ProcessorContext[[]byte, V]) error {
	p.ctx, p.chain = ctx, p.st.prog.NewChain()
	return nil
}

// message is a record as the processors of a stateful pipeline see it:
// headers are not carried through the streams runtime, so there are none;
// the offset is unknown (-1); the partition is the task's; the topic is
// the input topic when there is one.
func (pl *Plan) message(k, v []byte, ts int64, partition int32) *process.Message {
	m := process.NewMessage(k, v)
	m.Timestamp = time.UnixMilli(ts)
	m.Partition, m.Offset = partition, -1
	if in := pl.spec.Input.Topics; len(in) == 1 {
		m.Topic = in[0].Name
	}
	return m
}

func (p *chainProc[V]) Process(k, v []byte, ts int64) error {
	m := p.pl.message(k, v, ts, p.ctx.Partition())
	keep, err := p.chain.Process(m)
	var val []byte
	if err == nil && keep {
		if val, err = m.ValueBytes(); err != nil {
			err = fmt.Errorf("encode the value: %w", err)
		}
	}
	if err != nil {
		var pe *process.Error
		if errors.As(err, &pe) {
			pe.Index += p.st.first
		}
		return p.pl.fail(p.c, err)
	}
	if !keep {
		p.c.Filtered.Add(1)
		return nil
	}
	out, ok := p.emit(m, val)
	if !ok {
		return nil
	}
	return p.ctx.Forward(m.Key, out, m.Timestamp.UnixMilli())
}

// outputs runs the last chain (possibly empty) and writes each record to
// the outputs its route chose, or to every output.
func (pl *Plan) outputs(s *streams.Stream[[]byte, []byte], st step, c *Counters) {
	byName := map[string]string{}
	var all []string
	for _, o := range pl.spec.Outputs {
		byName[o.Name] = o.Topic
		all = append(all, o.Topic)
	}
	last := streams.Process(s, func() streams.Processor[[]byte, []byte, []byte, routed] {
		return &chainProc[routed]{pl: pl, st: st, c: c, emit: func(m *process.Message, v []byte) (routed, bool) {
			to := all
			if names := m.Outputs(); names != nil {
				to = make([]string, 0, len(names))
				for _, n := range names {
					to = append(to, byName[n])
				}
			}
			c.Out.Add(uint64(len(to)))
			return routed{value: v, to: to}, len(to) > 0
		}}
	})
	for _, topic := range all {
		streams.MapValues(last.Filter(func(_ []byte, r routed) bool { return slices.Contains(r.to, topic) }),
			func(_ []byte, r routed) []byte { return r.value }).
			To(topic, streams.Bytes(), streams.Bytes())
	}
}

// keyProc sets each record's key with a join's key expression.
type keyProc struct {
	pl    *Plan
	st    step
	c     *Counters
	ctx   streams.ProcessorContext[[]byte, []byte]
	chain *process.Chain
}

func (p *keyProc) Init(ctx streams.ProcessorContext[[]byte, []byte]) error {
	p.ctx, p.chain = ctx, p.st.key.NewChain()
	return nil
}

func (p *keyProc) Process(k, v []byte, ts int64) error {
	m := p.pl.message(k, v, ts, p.ctx.Partition())
	if _, err := p.chain.Process(m); err != nil {
		return p.pl.fail(p.c, stepError(p.st, "join", "key", err))
	}
	return p.ctx.Forward(m.Key, v, ts)
}

// joinStream enriches s with the join's table. The stream is repartitioned
// by its (new) key first unless it is still the input as read: the table
// lookup happens in the task that owns the key's partition of the table.
func (pl *Plan) joinStream(b *streams.Builder, s *streams.Stream[[]byte, []byte], st step, c *Counters) *streams.Stream[[]byte, []byte] {
	j := st.join
	if st.key != nil {
		s = streams.Process(s, func() streams.Processor[[]byte, []byte, []byte, []byte] {
			return &keyProc{pl: pl, st: st, c: c}
		})
	}
	if st.repartition {
		s = streams.Repartition(s, "join-key", streams.Bytes(), streams.Bytes())
	}
	table := streams.FromTable(b, j.Table, JoinStore(j.Table), streams.Bytes(), streams.Bytes())
	type joined struct {
		value []byte
		found bool
	}
	out := streams.LeftJoinStreamTable(s, table, func(_ []byte, v, row []byte, found bool) joined {
		val, ok := process.DecodeValue(v).(map[string]any)
		if !ok {
			val = map[string]any{"value": process.DecodeValue(v)}
		}
		val[j.As] = nil
		if found {
			val[j.As] = process.DecodeValue(row)
		}
		enc, err := rawSerde{}.Encode(val)
		if err != nil {
			// Decoded JSON always encodes; keep the record as it came.
			enc = v
		}
		return joined{value: enc, found: found}
	})
	if j.Inner {
		out = out.Filter(func(_ []byte, r joined) bool {
			if !r.found {
				c.Filtered.Add(1)
			}
			return r.found
		})
	}
	return streams.MapValues(out, func(_ []byte, r joined) []byte { return r.value })
}

// groupProc computes each record's group key and aggregated field.
type groupProc struct {
	pl         *Plan
	st         step
	c          *Counters
	ctx        streams.ProcessorContext[string, Value]
	key, field *process.Chain
}

func (p *groupProc) Init(ctx streams.ProcessorContext[string, Value]) error {
	p.ctx, p.key = ctx, p.st.key.NewChain()
	if p.st.field != nil {
		p.field = p.st.field.NewChain()
	}
	return nil
}

func (p *groupProc) Process(k, v []byte, ts int64) error {
	m := p.pl.message(k, v, ts, p.ctx.Partition())
	if _, err := p.key.Process(m); err != nil {
		return p.pl.fail(p.c, stepError(p.st, "aggregate", "key", err))
	}
	if m.Key == nil {
		return p.pl.fail(p.c, stepError(p.st, "aggregate", "key", errors.New("the expression returned null: every record needs a group")))
	}
	group := string(m.Key)
	// count reads no field; a nil value would read as a deletion
	// downstream, so every value travels wrapped in a one-item list.
	var fv Value = int64(1)
	if p.field != nil {
		fm := p.pl.message(k, v, ts, p.ctx.Partition())
		if _, err := p.field.Process(fm); err != nil {
			return p.pl.fail(p.c, stepError(p.st, "aggregate", "field", err))
		}
		fv = fm.Value()
		if op := p.st.agg.Op; op != "collect" {
			if _, ok := toFloat(fv); !ok {
				return p.pl.fail(p.c, stepError(p.st, "aggregate", "field", fmt.Errorf("%s needs a number, got %T", op, fv)))
			}
		}
	}
	return p.ctx.Forward(group, []any{fv}, ts)
}

// aggregateStream groups s by the aggregate's key (through a repartition
// topic), aggregates each group or window, and emits one record per update
// (or per closed window with emit: final), keyed by the group key.
func (pl *Plan) aggregateStream(s *streams.Stream[[]byte, []byte], st step, c *Counters) *streams.Stream[[]byte, []byte] {
	keyed := streams.Process(s, func() streams.Processor[[]byte, []byte, string, Value] {
		return &groupProc{pl: pl, st: st, c: c}
	})
	grouped := streams.Repartition(keyed, "aggregate-key", streams.String(), streams.Serde[Value](rawSerde{})).
		GroupByKey(streams.String(), streams.Serde[Value](rawSerde{}))
	op := st.agg.Op
	add := func(_ string, v Value, a acc) acc {
		item := v
		if l, ok := v.([]any); ok && len(l) == 1 {
			item = l[0]
		}
		return a.add(op, item)
	}
	// A result is a JSON object; a deleted entry (a session merged into a
	// bigger one) has no state (N is 0) and emits nothing.
	emitResult := func(key string, a acc, v map[string]any) []streams.KeyValue[[]byte, []byte] {
		if a.N == 0 {
			return nil
		}
		v["key"], v["value"] = key, a.result(op)
		b, err := rawSerde{}.Encode(v)
		if err != nil {
			return nil
		}
		return []streams.KeyValue[[]byte, []byte]{streams.KV([]byte(key), b)}
	}
	accSerde := streams.JSON[acc]()
	if st.win == nil {
		table := streams.Aggregate(grouped, AggregateStore, func() acc { return acc{} }, add, accSerde)
		return streams.FlatMap(table.ToStream(), func(k string, a acc) []streams.KeyValue[[]byte, []byte] {
			return emitResult(k, a, map[string]any{})
		})
	}
	w := st.win
	var win streams.Windows
	switch w.Type {
	case "tumbling":
		win = streams.TumblingWindows(w.Size)
	case "hopping":
		win = streams.HoppingWindows(w.Size, w.Advance)
	case "sliding":
		win = streams.SlidingWindows(w.Size)
	case "session":
		win = streams.SessionWindows(w.Gap)
	}
	emit := streams.EmitEveryUpdate
	if w.Final {
		emit = streams.EmitFinal
	}
	merge := func(_ string, x, y acc) acc { return x.merge(y) }
	table := streams.WindowedAggregate(grouped.WindowedBy(win.Grace(w.Grace)), WindowStore, emit,
		func() acc { return acc{} }, add, merge, accSerde)
	return streams.FlatMap(table.ToStream(), func(k streams.Windowed[string], a acc) []streams.KeyValue[[]byte, []byte] {
		return emitResult(k.Key, a, map[string]any{"start": k.Start, "end": k.End})
	})
}
