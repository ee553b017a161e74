package streams

import "fmt"

// Grouped is a stream partitioned by its key, ready to aggregate.
type Grouped[K, V any] struct {
	b  *Builder
	n  *node
	ks Serde[K]
	vs Serde[V]
}

// GroupByKey groups by the current key. The stream must already be
// partitioned by that key (it comes from a topic keyed that way); after a
// key-changing Map use GroupBy, which repartitions.
func (s *Stream[K, V]) GroupByKey(ks Serde[K], vs Serde[V]) *Grouped[K, V] {
	return &Grouped[K, V]{b: s.b, n: s.n, ks: ks, vs: vs}
}

// GroupBy re-keys each record with key and repartitions the stream through
// the internal topic "<application id>-<name>-repartition", so every record
// of one key reaches the same task. An empty name is generated from the
// operator's position in the topology, which then must not change between
// versions of the application.
func GroupBy[K, V, K2 any](s *Stream[K, V], name string, key func(K, V) K2, ks Serde[K2], vs Serde[V]) *Grouped[K2, V] {
	name = s.b.uniqueName(name, "groupby")
	mapped := Map(s, func(k K, v V) (K2, V) { return key(k, v), v })
	return Repartition(mapped, name, ks, vs).GroupByKey(ks, vs)
}

// Repartition writes the stream to the internal topic
// "<application id>-<name>-repartition" partitioned by key and reads it back.
func Repartition[K, V any](s *Stream[K, V], name string, ks Serde[K], vs Serde[V]) *Stream[K, V] {
	topic := name + "-repartition"
	sinkNode(s.b, s.n, topic, true, erase(ks), erase(vs))
	s.b.repartitions = append(s.b.repartitions, topic)
	return &Stream[K, V]{s.b, sourceNode(s.b, []string{topic}, true, erase(ks), erase(vs))}
}

// Table is a changelog stream materialized in a key-value store: the latest
// value of each key. A nil value in its change stream deletes the key.
type Table[K, V any] struct {
	b     *Builder
	n     *node
	store *storeDef
	ks    Serde[K]
	vs    Serde[V]
}

// StoreName is the name of the store holding the table, for interactive
// queries.
func (t *Table[K, V]) StoreName() string { return t.store.name }

// ToStream returns the table's change stream: one record per update, with
// the new value (a nil value, decoded as the zero V, for a deletion).
func (t *Table[K, V]) ToStream() *Stream[K, V] {
	return &Stream[K, V]{t.b, t.b.addNode("to-stream", []*node{t.n}, func(_ *taskCtx, fwd forward) (proc, error) {
		return procFunc(fwd), nil
	})}
}

func (b *Builder) kvStore(name, kind string, ks, vs anySerde) *storeDef {
	name = b.uniqueName(name, kind+"-store")
	return b.addStore(&storeDef{name: name, kind: kvStoreKind, keySerde: ks, valueSerde: vs})
}

// FromTable reads a topic as a table (typically compacted) into the store
// storeName; a record with a nil value deletes its key.
func FromTable[K, V any](b *Builder, topic, storeName string, ks Serde[K], vs Serde[V]) *Table[K, V] {
	src := sourceNode(b, []string{topic}, false, erase(ks), erase(vs))
	def := b.kvStore(storeName, "table", erase(ks), erase(vs))
	kenc, venc := erase(ks), erase(vs)
	n := b.addNode("table", []*node{src}, func(tc *taskCtx, fwd forward) (proc, error) {
		st := tc.store(def.name)
		return procFunc(func(r rec) error {
			kb, err := kenc.enc(r.key)
			if err != nil {
				return fmt.Errorf("encode key: %w", err)
			}
			var vb []byte
			if r.value != nil {
				if vb, err = venc.enc(r.value); err != nil {
					return fmt.Errorf("encode value: %w", err)
				}
			}
			if err := st.put(kb, vb); err != nil {
				return err
			}
			return fwd(r)
		}), nil
	})
	n.stores = []*storeDef{def}
	return &Table[K, V]{b: b, n: n, store: def, ks: ks, vs: vs}
}

// Aggregate folds each key's records into a table: init gives the starting
// aggregate, agg adds a record. Records with a nil value are skipped. Every
// update is forwarded on the table's change stream.
func Aggregate[K, V, A any](g *Grouped[K, V], storeName string, init func() A, agg func(K, V, A) A, aggSerde Serde[A]) *Table[K, A] {
	return aggregateCore(g, storeName, "aggregate", func(k K, v V, cur A, ok bool) A {
		if !ok {
			cur = init()
		}
		return agg(k, v, cur)
	}, aggSerde)
}

// Count counts each key's records.
func Count[K, V any](g *Grouped[K, V], storeName string) *Table[K, int64] {
	return aggregateCore(g, storeName, "count", func(_ K, _ V, n int64, _ bool) int64 { return n + 1 }, Int64())
}

// Reduce combines each key's values with fn, starting from the first value.
func Reduce[K, V any](g *Grouped[K, V], storeName string, fn func(agg, v V) V) *Table[K, V] {
	return aggregateCore(g, storeName, "reduce", func(_ K, v V, cur V, ok bool) V {
		if !ok {
			return v
		}
		return fn(cur, v)
	}, g.vs)
}

// aggregateCore is the processor behind Aggregate, Count and Reduce: step
// gets the current aggregate and whether the key had one.
func aggregateCore[K, V, A any](g *Grouped[K, V], storeName, kind string, step func(K, V, A, bool) A, aggSerde Serde[A]) *Table[K, A] {
	def := g.b.kvStore(storeName, kind, erase(g.ks), erase(aggSerde))
	ks := g.ks
	n := g.b.addNode(kind, []*node{g.n}, func(tc *taskCtx, fwd forward) (proc, error) {
		st := tc.store(def.name)
		return procFunc(func(r rec) error {
			if r.value == nil {
				return nil
			}
			k := cast[K](r.key)
			kb, err := ks.Encode(k)
			if err != nil {
				return fmt.Errorf("encode key: %w", err)
			}
			var cur A
			old, ok := st.get(kb)
			if ok {
				if cur, err = aggSerde.Decode(old); err != nil {
					return fmt.Errorf("decode aggregate: %w", err)
				}
			}
			cur = step(k, cast[V](r.value), cur, ok)
			nb, err := aggSerde.Encode(cur)
			if err != nil {
				return fmt.Errorf("encode aggregate: %w", err)
			}
			if err := st.put(kb, nb); err != nil {
				return err
			}
			return fwd(rec{key: k, value: cur, ts: r.ts})
		}), nil
	})
	n.stores = []*storeDef{def}
	return &Table[K, A]{b: g.b, n: n, store: def, ks: g.ks, vs: aggSerde}
}
