package streams

import (
	"fmt"
	"time"
)

// Stream is a typed record stream in a topology under construction.
type Stream[K, V any] struct {
	b *Builder
	n *node
}

// KeyValue is a key and a value, the output of FlatMap.
type KeyValue[K, V any] struct {
	Key   K
	Value V
}

// KV builds a KeyValue.
func KV[K, V any](k K, v V) KeyValue[K, V] { return KeyValue[K, V]{k, v} }

// FromTopic adds a source reading topics, decoding keys and values with the
// serdes. A nil key in the topic decodes as the zero K only if the key serde
// accepts nil bytes; String and Bytes do.
func FromTopic[K, V any](b *Builder, ks Serde[K], vs Serde[V], topics ...string) *Stream[K, V] {
	return &Stream[K, V]{b: b, n: sourceNode(b, topics, false, erase(ks), erase(vs))}
}

func sourceNode(b *Builder, topics []string, internal bool, ks, vs anySerde) *node {
	if len(topics) == 0 {
		b.errs = append(b.errs, fmt.Errorf("streams: a source needs at least one topic"))
	}
	n := b.addNode("source", nil, func(tc *taskCtx, fwd forward) (proc, error) {
		return procFunc(func(r rec) error {
			kb, _ := r.key.([]byte)
			vb, _ := r.value.([]byte)
			k, err := ks.dec(kb)
			if err != nil {
				return fmt.Errorf("decode key: %w", err)
			}
			var v any
			if vb != nil {
				if v, err = vs.dec(vb); err != nil {
					return fmt.Errorf("decode value: %w", err)
				}
			}
			return fwd(rec{key: k, value: v, ts: r.ts})
		}), nil
	})
	n.topics, n.internal = topics, internal
	return n
}

// stateless adds a processor with one parent whose instance is fn.
func stateless(b *Builder, kind string, parent *node, fn func(fwd forward) func(r rec) error) *node {
	return b.addNode(kind, []*node{parent}, func(_ *taskCtx, fwd forward) (proc, error) {
		return procFunc(fn(fwd)), nil
	})
}

// Filter keeps the records for which keep returns true.
func (s *Stream[K, V]) Filter(keep func(K, V) bool) *Stream[K, V] {
	return &Stream[K, V]{s.b, stateless(s.b, "filter", s.n, func(fwd forward) func(rec) error {
		return func(r rec) error {
			if keep(cast[K](r.key), cast[V](r.value)) {
				return fwd(r)
			}
			return nil
		}
	})}
}

// Peek calls fn for every record and passes it on unchanged.
func (s *Stream[K, V]) Peek(fn func(K, V)) *Stream[K, V] {
	return &Stream[K, V]{s.b, stateless(s.b, "peek", s.n, func(fwd forward) func(rec) error {
		return func(r rec) error {
			fn(cast[K](r.key), cast[V](r.value))
			return fwd(r)
		}
	})}
}

// Branch splits the stream: a record goes to the first branch whose
// predicate holds, or nowhere. The result has one stream per predicate.
func (s *Stream[K, V]) Branch(preds ...func(K, V) bool) []*Stream[K, V] {
	router := s.b.addNode("branch", []*node{s.n}, nil)
	outs := make([]*Stream[K, V], len(preds))
	for i := range preds {
		outs[i] = &Stream[K, V]{s.b, s.b.addNode("branch-child", []*node{router}, func(_ *taskCtx, fwd forward) (proc, error) {
			return procFunc(fwd), nil
		})}
	}
	// The router sends each record to one child, not to all of them, so it
	// looks up the children's instances itself.
	router.build = func(tc *taskCtx, _ forward) (proc, error) {
		kids := make([]proc, len(outs))
		for i, o := range outs {
			p, err := tc.buildNode(o.n)
			if err != nil {
				return nil, err
			}
			kids[i] = p
		}
		return procFunc(func(r rec) error {
			k, v := cast[K](r.key), cast[V](r.value)
			for i, pred := range preds {
				if pred(k, v) {
					return kids[i].process(r)
				}
			}
			return nil
		}), nil
	}
	return outs
}

// Merge returns a stream with the records of s and others.
func (s *Stream[K, V]) Merge(others ...*Stream[K, V]) *Stream[K, V] {
	parents := []*node{s.n}
	for _, o := range others {
		parents = append(parents, o.n)
	}
	return &Stream[K, V]{s.b, s.b.addNode("merge", parents, func(_ *taskCtx, fwd forward) (proc, error) {
		return procFunc(fwd), nil
	})}
}

// To writes the stream to topic, partitioned by the encoded key.
func (s *Stream[K, V]) To(topic string, ks Serde[K], vs Serde[V]) {
	sinkNode(s.b, s.n, topic, false, erase(ks), erase(vs))
}

func sinkNode(b *Builder, parent *node, topic string, internal bool, ks, vs anySerde) *node {
	b.sinks = append(b.sinks, sinkRef{topic, internal})
	return b.addNode("sink", []*node{parent}, func(tc *taskCtx, _ forward) (proc, error) {
		name := tc.topic(topic, internal)
		return procFunc(func(r rec) error {
			k, err := ks.enc(r.key)
			if err != nil {
				return fmt.Errorf("encode key for %s: %w", name, err)
			}
			var v []byte
			if r.value != nil {
				if v, err = vs.enc(r.value); err != nil {
					return fmt.Errorf("encode value for %s: %w", name, err)
				}
			}
			tc.out.send(name, -1, k, v, r.ts, nil)
			return nil
		}), nil
	})
}

// Map turns each record into a new key and value.
func Map[K, V, K2, V2 any](s *Stream[K, V], fn func(K, V) (K2, V2)) *Stream[K2, V2] {
	return &Stream[K2, V2]{s.b, stateless(s.b, "map", s.n, func(fwd forward) func(rec) error {
		return func(r rec) error {
			k, v := fn(cast[K](r.key), cast[V](r.value))
			return fwd(rec{key: k, value: v, ts: r.ts})
		}
	})}
}

// MapValues changes each value and keeps the key.
func MapValues[K, V, V2 any](s *Stream[K, V], fn func(K, V) V2) *Stream[K, V2] {
	return &Stream[K, V2]{s.b, stateless(s.b, "map-values", s.n, func(fwd forward) func(rec) error {
		return func(r rec) error {
			return fwd(rec{key: r.key, value: fn(cast[K](r.key), cast[V](r.value)), ts: r.ts})
		}
	})}
}

// FlatMap turns each record into zero or more records.
func FlatMap[K, V, K2, V2 any](s *Stream[K, V], fn func(K, V) []KeyValue[K2, V2]) *Stream[K2, V2] {
	return &Stream[K2, V2]{s.b, stateless(s.b, "flat-map", s.n, func(fwd forward) func(rec) error {
		return func(r rec) error {
			for _, kv := range fn(cast[K](r.key), cast[V](r.value)) {
				if err := fwd(rec{key: kv.Key, value: kv.Value, ts: r.ts}); err != nil {
					return err
				}
			}
			return nil
		}
	})}
}

// WithTimestamp sets each record's event time from an extractor (Unix
// milliseconds), for windowing on a time carried inside the value.
func WithTimestamp[K, V any](s *Stream[K, V], extract func(K, V, int64) int64) *Stream[K, V] {
	return &Stream[K, V]{s.b, stateless(s.b, "timestamp", s.n, func(fwd forward) func(rec) error {
		return func(r rec) error {
			r.ts = extract(cast[K](r.key), cast[V](r.value), r.ts)
			return fwd(r)
		}
	})}
}

// ProcessorContext is what a custom Processor gets: forwarding and
// punctuation scheduling in its task.
type ProcessorContext[K, V any] interface {
	// Forward passes a record downstream.
	Forward(key K, value V, ts int64) error
	// Schedule calls fn every interval of stream time or wall-clock time.
	Schedule(interval time.Duration, kind PunctuationType, fn func(ts int64) error)
	// StreamTime is the largest record timestamp the task has seen.
	StreamTime() int64
	// Partition is the task's partition number.
	Partition() int32
}

// Processor is a custom low-level processor; a new one is made per task.
type Processor[K, V, K2, V2 any] interface {
	Init(ctx ProcessorContext[K2, V2]) error
	Process(key K, value V, ts int64) error
}

type procCtx[K, V any] struct {
	tc  *taskCtx
	fwd forward
}

func (c procCtx[K, V]) Forward(k K, v V, ts int64) error {
	return c.fwd(rec{key: k, value: v, ts: ts})
}

func (c procCtx[K, V]) Schedule(interval time.Duration, kind PunctuationType, fn func(ts int64) error) {
	c.tc.schedule(kind, interval, fn)
}

func (c procCtx[K, V]) StreamTime() int64 { return c.tc.streamTime }
func (c procCtx[K, V]) Partition() int32  { return c.tc.id.partition }

// Process adds a custom processor made by newProc for each task.
func Process[K, V, K2, V2 any](s *Stream[K, V], newProc func() Processor[K, V, K2, V2]) *Stream[K2, V2] {
	return &Stream[K2, V2]{s.b, s.b.addNode("process", []*node{s.n}, func(tc *taskCtx, fwd forward) (proc, error) {
		p := newProc()
		if err := p.Init(procCtx[K2, V2]{tc, fwd}); err != nil {
			return nil, err
		}
		return procFunc(func(r rec) error { return p.Process(cast[K](r.key), cast[V](r.value), r.ts) }), nil
	})}
}

// cast converts an erased key or value back to T; nil becomes the zero T.
func cast[T any](v any) T {
	t, _ := v.(T)
	return t
}
