package process

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"time"

	"github.com/tributary-io/tributary/pipelines/spec"
)

// processor compiles one processor; nil when it has problems.
func (c *compiler) processor(pr spec.Processor, prog *Program) stageDef {
	before := len(c.probs)
	var def stageDef
	switch pr.Type {
	case "filter":
		def = &filterStage{cond: c.compile(pr.Filter, true)}
	case "route":
		def = c.route(pr.Route, prog)
	case "sample":
		def = &sampleStage{rate: pr.Sample.Rate, by: c.compile(pr.Sample.By, false)}
	case "dedupe":
		def = &dedupeDef{key: c.compile(pr.Dedupe.Key, false), window: pr.Dedupe.Window, maxKeys: pr.Dedupe.MaxKeys}
	case "map":
		def = c.mapStage(pr.Map)
	case "set":
		def = c.setStage(pr.Set)
	case "delete":
		def = &deleteStage{paths: pr.Delete}
	case "parse":
		def = c.parseStage(pr.Parse, pr.Path)
	default:
		c.probs.Add(pr.Pos, pr.Path, "unknown processor %q", pr.Type)
	}
	if len(c.probs) > before {
		return nil
	}
	return def
}

// filterStage keeps records for which cond holds.
type filterStage struct{ cond *program }

func (s *filterStage) instance() stage { return s }

func (s *filterStage) apply(c *Chain, m *Message) (bool, error) {
	return c.evalBool(s.cond, m)
}

// routeStage sets the outputs of a record: those of the first case whose
// condition holds, or the names an expression returns.
type routeStage struct {
	cases   []routeCase
	expr    *program
	outputs map[string]bool
}

type routeCase struct {
	when *program // nil: always
	to   []string
}

func (c *compiler) route(r *spec.RouteSpec, prog *Program) stageDef {
	s := &routeStage{outputs: prog.outputs}
	if !r.Expr.IsZero() {
		s.expr = c.compile(r.Expr, false)
		return s
	}
	for _, rc := range r.Cases {
		var to []string
		for _, n := range rc.To {
			to = append(to, n.Name)
		}
		s.cases = append(s.cases, routeCase{when: c.compile(rc.When, true), to: to})
	}
	return s
}

func (s *routeStage) instance() stage { return s }

func (s *routeStage) apply(c *Chain, m *Message) (bool, error) {
	if s.expr != nil {
		out, err := c.eval(s.expr, m)
		if err != nil {
			return false, err
		}
		names, err := outputNames(out)
		if err != nil {
			return false, err
		}
		for _, n := range names {
			if !s.outputs[n] {
				return false, fmt.Errorf("route: no output is called %q", n)
			}
		}
		// Naming an output twice still writes the record once to it.
		m.outputs = slices.Compact(slices.Sorted(slices.Values(names)))
		return len(names) > 0, nil
	}
	for _, rc := range s.cases {
		ok := true
		if rc.when != nil {
			var err error
			if ok, err = c.evalBool(rc.when, m); err != nil {
				return false, err
			}
		}
		if ok {
			m.outputs = rc.to
			return true, nil
		}
	}
	return false, nil
}

// outputNames reads a route expression's result: a name, a list of names,
// or nil for none.
func outputNames(v any) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{x}, nil
	case []string:
		return x, nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("route: want output names, got %T in the list", e)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("route: want an output name or a list of names, got %T", v)
}

// sampleStage keeps a record when the hash of its sampling key, as a
// fraction of the hash space, is below the rate. Hashing instead of a random
// draw makes the choice the same every time the record is processed.
type sampleStage struct {
	rate float64
	by   *program // nil: topic, partition and offset
}

func (s *sampleStage) instance() stage { return s }

func (s *sampleStage) apply(c *Chain, m *Message) (bool, error) {
	h := fnv.New64a()
	if s.by == nil {
		h.Write([]byte(m.Topic))
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(m.Partition)))
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(m.Offset)))
	} else {
		v, err := c.eval(s.by, m)
		if err != nil {
			return false, err
		}
		b, err := identity(v)
		if err != nil {
			return false, err
		}
		h.Write(b)
	}
	// fnv's low bits mix poorly for short inputs; fold the high half in.
	x := h.Sum64()
	x ^= x >> 29
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 32
	return float64(x)/math.MaxUint64 < s.rate, nil
}

// identity is the bytes a key expression's result is compared by.
func identity(v any) ([]byte, error) {
	if s, ok := v.(string); ok {
		return append([]byte{'s'}, s...), nil // apart from the JSON "\"x\""
	}
	b, err := EncodeValue(v)
	if err != nil {
		return nil, err
	}
	return append([]byte{'j'}, b...), nil
}

// dedupeDef drops records whose key was seen in a record with a timestamp
// less than window before; each Chain remembers its own keys.
type dedupeDef struct {
	key     *program
	window  time.Duration
	maxKeys int
}

func (d *dedupeDef) instance() stage {
	return &dedupeStage{def: d, seen: map[string]time.Time{}}
}

type dedupeStage struct {
	def *dedupeDef
	// seen maps a key to the timestamp of its first record in the window;
	// order lists keys oldest first, for eviction.
	seen   map[string]time.Time
	order  []seenKey
	head   int
	newest time.Time
}

type seenKey struct {
	key string
	ts  time.Time
}

func (s *dedupeStage) reset() {
	clear(s.seen)
	s.order, s.head, s.newest = s.order[:0], 0, time.Time{}
}

func (s *dedupeStage) apply(c *Chain, m *Message) (bool, error) {
	v, err := c.eval(s.def.key, m)
	if err != nil {
		return false, err
	}
	b, err := identity(v)
	if err != nil {
		return false, err
	}
	key, ts := string(b), m.Timestamp
	if ts.After(s.newest) {
		s.newest = ts
	}
	s.evict()
	if first, ok := s.seen[key]; ok {
		if d := ts.Sub(first); d < s.def.window && d > -s.def.window {
			return false, nil
		}
	}
	s.seen[key] = ts
	s.order = append(s.order, seenKey{key: key, ts: ts})
	for len(s.seen) > s.def.maxKeys {
		s.popOldest()
	}
	return true, nil
}

// evict forgets keys whose window has passed, judged by the newest
// timestamp seen, so memory follows the window and not the stream's length.
func (s *dedupeStage) evict() {
	for s.head < len(s.order) && s.newest.Sub(s.order[s.head].ts) >= s.def.window {
		s.popOldest()
	}
}

func (s *dedupeStage) popOldest() {
	if s.head >= len(s.order) {
		return
	}
	old := s.order[s.head]
	s.order[s.head] = seenKey{}
	s.head++
	if ts, ok := s.seen[old.key]; ok && ts.Equal(old.ts) {
		delete(s.seen, old.key)
	}
	// Compact once the dead prefix is half the slice.
	if s.head > 1024 && s.head*2 > len(s.order) {
		n := copy(s.order, s.order[s.head:])
		clear(s.order[n:])
		s.order, s.head = s.order[:n], 0
	}
}
