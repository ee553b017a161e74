package streams

import (
	"fmt"
	"time"
)

// JoinStreamTable joins each record of s with the table's current value for
// its key (an inner join: records whose key is not in the table are
// dropped). s must be partitioned like the table's topic (same key, same
// partition count), since the lookup reads the local store.
func JoinStreamTable[K, V, VT, R any](s *Stream[K, V], t *Table[K, VT], joiner func(K, V, VT) R) *Stream[K, R] {
	return streamTableJoin(s, t, false, func(k K, v V, vt VT, _ bool) R { return joiner(k, v, vt) })
}

// LeftJoinStreamTable is JoinStreamTable that keeps records without a table
// value; joiner gets found=false and the zero VT for them.
func LeftJoinStreamTable[K, V, VT, R any](s *Stream[K, V], t *Table[K, VT], joiner func(k K, v V, vt VT, found bool) R) *Stream[K, R] {
	return streamTableJoin(s, t, true, joiner)
}

func streamTableJoin[K, V, VT, R any](s *Stream[K, V], t *Table[K, VT], left bool, joiner func(K, V, VT, bool) R) *Stream[K, R] {
	def := t.store
	ks, vs := t.ks, t.vs
	n := s.b.addNode("stream-table-join", []*node{s.n}, func(tc *taskCtx, fwd forward) (proc, error) {
		st := tc.store(def.name)
		return procFunc(func(r rec) error {
			k := cast[K](r.key)
			kb, err := ks.Encode(k)
			if err != nil {
				return fmt.Errorf("encode key: %w", err)
			}
			var vt VT
			b, found := st.get(kb)
			if found {
				if vt, err = vs.Decode(b); err != nil {
					return fmt.Errorf("decode table value: %w", err)
				}
			}
			if !found && !left {
				return nil
			}
			return fwd(rec{key: k, value: joiner(k, cast[V](r.value), vt, found), ts: r.ts})
		}), nil
	})
	n.stores = []*storeDef{def}
	return &Stream[K, R]{s.b, n}
}

// StreamJoin configures JoinStreams.
type StreamJoin[K, V1, V2 any] struct {
	// Name names the join's buffer stores ("<Name>-left", "<Name>-right",
	// "<Name>-index"). Empty: generated.
	Name string
	// Window joins records whose timestamps differ by at most Window.
	Window time.Duration
	// Grace accepts records up to Grace behind stream time; later ones
	// are dropped and counted as late. Default 0.
	Grace time.Duration
	// Serdes of the key and both sides' values, for the buffers.
	Key   Serde[K]
	Left  Serde[V1]
	Right Serde[V2]
}

// JoinStreams joins two co-partitioned streams (an inner join): every pair
// of records with the same key whose timestamps are at most cfg.Window
// apart produces joiner(key, left, right) with the later timestamp. Both
// sides buffer their records for Window plus Grace of stream time.
func JoinStreams[K, V1, V2, R any](l *Stream[K, V1], r *Stream[K, V2], cfg StreamJoin[K, V1, V2], joiner func(K, V1, V2) R) *Stream[K, R] {
	return streamJoin(l, r, cfg, false, func(k K, lv V1, rv V2, _ bool) R { return joiner(k, lv, rv) })
}

// streamJoin is JoinStreams, or LeftJoinStreams when leftJoin is set: then
// left records that no right record matched wait in the index store
// (unmatchedPrefix, keyed by time and window key, the values as a list)
// until no accepted record can match them any more, and are emitted with
// found=false.
func streamJoin[K, V1, V2, R any](l *Stream[K, V1], r *Stream[K, V2], cfg StreamJoin[K, V1, V2], leftJoin bool, joiner func(K, V1, V2, bool) R) *Stream[K, R] {
	b := l.b
	name := b.uniqueName(cfg.Name, "join")
	if cfg.Window < 0 || cfg.Grace < 0 {
		b.errs = append(b.errs, fmt.Errorf("streams: join %s: window and grace must not be negative", name))
	}
	if cfg.Key == nil || cfg.Left == nil || cfg.Right == nil {
		b.errs = append(b.errs, fmt.Errorf("streams: join %s: the key and both value serdes are required", name))
		return &Stream[K, R]{b, b.addNode("join-invalid", nil, nil)}
	}
	lDef := b.addStore(&storeDef{name: name + "-left", kind: windowStoreKind, keySerde: erase(cfg.Key)})
	rDef := b.addStore(&storeDef{name: name + "-right", kind: windowStoreKind, keySerde: erase(cfg.Key)})
	ixDef := b.addStore(&storeDef{name: name + "-index", kind: kvStoreKind})
	window, grace := cfg.Window.Milliseconds(), cfg.Grace.Milliseconds()
	side := func(parent *node, isLeft bool) *node {
		n := b.addNode("join-side", []*node{parent}, func(tc *taskCtx, fwd forward) (proc, error) {
			own, other, ix := tc.store(lDef.name), tc.store(rDef.name), tc.store(ixDef.name)
			if !isLeft {
				own, other = other, own
			}
			ownTag := byte('l')
			if !isLeft {
				ownTag = 'r'
			}
			return procFunc(func(rc rec) error {
				if rc.value == nil {
					return nil
				}
				observed := getMetaTime(ix)
				if rc.ts > observed {
					observed = rc.ts
					if err := putMetaTime(ix, observed); err != nil {
						return err
					}
				}
				if rc.ts < observed-window-grace {
					tc.stats.late++
					return nil
				}
				k := cast[K](rc.key)
				kb, err := cfg.Key.Encode(k)
				if err != nil {
					return fmt.Errorf("encode key: %w", err)
				}
				var vb []byte
				if isLeft {
					vb, err = cfg.Left.Encode(cast[V1](rc.value))
				} else {
					vb, err = cfg.Right.Encode(cast[V2](rc.value))
				}
				if err != nil {
					return fmt.Errorf("encode value: %w", err)
				}
				wk := windowKey(kb, rc.ts)
				old, _ := own.get(wk)
				if err := own.put(wk, appendValue(append([]byte(nil), old...), vb)); err != nil {
					return err
				}
				if err := ix.put(indexKey(retainPrefix, rc.ts, append([]byte{ownTag}, wk...)), []byte{1}); err != nil {
					return err
				}
				// Join with the other side's records in [ts-window, ts+window].
				type match struct {
					ts   int64
					list []byte
				}
				var ms []match
				var times []int64 // of ms, for the left join's bookkeeping
				other.b.scan(string(windowKey(kb, rc.ts-window)), string(windowKey(kb, rc.ts+window+1)), func(key string, list []byte) bool {
					_, ts, ok := splitWindowKey([]byte(key))
					if ok {
						ms = append(ms, match{ts, list})
						times = append(times, ts)
					}
					return true
				})
				for _, m := range ms {
					err := eachValue(m.list, func(ob []byte) error {
						var out R
						if isLeft {
							rv, err := cfg.Right.Decode(ob)
							if err != nil {
								return fmt.Errorf("decode right value: %w", err)
							}
							out = joiner(k, cast[V1](rc.value), rv, true)
						} else {
							lv, err := cfg.Left.Decode(ob)
							if err != nil {
								return fmt.Errorf("decode left value: %w", err)
							}
							out = joiner(k, lv, cast[V2](rc.value), true)
						}
						return fwd(rec{key: k, value: out, ts: max(rc.ts, m.ts)})
					})
					if err != nil {
						return err
					}
				}
				if leftJoin {
					if err := trackUnmatched(ix, isLeft, kb, rc.ts, vb, times); err != nil {
						return err
					}
					// Emit the left records no future right record can match
					// (the bound of the buffer drop below).
					err := emitUnmatched(ix, observed-2*window-grace, func(kb []byte, ts int64, vb []byte) error {
						k, err := cfg.Key.Decode(kb)
						if err != nil {
							return fmt.Errorf("decode key: %w", err)
						}
						lv, err := cfg.Left.Decode(vb)
						if err != nil {
							return fmt.Errorf("decode left value: %w", err)
						}
						var zero V2
						return fwd(rec{key: k, value: joiner(k, lv, zero, false), ts: ts})
					})
					if err != nil {
						return err
					}
				}
				// Drop buffered records no future record can join: an accepted
				// record is at most window+grace behind stream time and joins
				// records up to window before itself.
				_, refs, err := due(ix, retainPrefix, observed-2*window-grace)
				if err != nil {
					return err
				}
				for _, ref := range refs {
					st := tc.store(lDef.name)
					if ref[0] == 'r' {
						st = tc.store(rDef.name)
					}
					if err := st.put(ref[1:], nil); err != nil {
						return err
					}
				}
				return nil
			}), nil
		})
		n.stores = []*storeDef{lDef, rDef, ixDef}
		return n
	}
	ln, rn := side(l.n, true), side(r.n, false)
	return &Stream[K, R]{b, b.addNode("join-merge", []*node{ln, rn}, func(_ *taskCtx, fwd forward) (proc, error) {
		return procFunc(fwd), nil
	})}
}

// JoinTables joins two co-partitioned tables into a table (an inner join):
// whenever either side changes, the result for that key is recomputed as
// joiner(key, left, right), or deleted when a side lacks the key.
func JoinTables[K, V1, V2, R any](l *Table[K, V1], r *Table[K, V2], storeName string, joiner func(K, V1, V2) R, rs Serde[R]) *Table[K, R] {
	return tableJoin(l, r, storeName, joinInner, func(k K, lv V1, _ bool, rv V2, _ bool) R { return joiner(k, lv, rv) }, rs)
}

// joinKind says which sides a table-table join needs for a result.
type joinKind int

const (
	joinInner joinKind = iota // both
	joinLeft                  // the left side
	joinOuter                 // either side
)

// keeps reports whether a key present on the sides given has a result.
func (j joinKind) keeps(lok, rok bool) bool {
	switch j {
	case joinLeft:
		return lok
	case joinOuter:
		return lok || rok
	}
	return lok && rok
}

// tableJoin is JoinTables for every joinKind; joiner gets each side's value
// and whether it is present (the zero value when not).
func tableJoin[K, V1, V2, R any](l *Table[K, V1], r *Table[K, V2], storeName string, kind joinKind, joiner func(K, V1, bool, V2, bool) R, rs Serde[R]) *Table[K, R] {
	b := l.b
	def := b.kvStore(storeName, "table-join", erase(l.ks), erase(rs))
	ks := l.ks
	side := func(parent *node) *node {
		n := b.addNode("table-join-side", []*node{parent}, func(tc *taskCtx, fwd forward) (proc, error) {
			ls, rsStore, out := tc.store(l.store.name), tc.store(r.store.name), tc.store(def.name)
			return procFunc(func(rc rec) error {
				k := cast[K](rc.key)
				kb, err := ks.Encode(k)
				if err != nil {
					return fmt.Errorf("encode key: %w", err)
				}
				lb, lok := ls.get(kb)
				rb, rok := rsStore.get(kb)
				if !kind.keeps(lok, rok) {
					if _, had := out.get(kb); !had {
						return nil
					}
					if err := out.put(kb, nil); err != nil {
						return err
					}
					return fwd(rec{key: k, ts: rc.ts})
				}
				var lv V1
				var rv V2
				if lok {
					if lv, err = l.vs.Decode(lb); err != nil {
						return fmt.Errorf("decode left value: %w", err)
					}
				}
				if rok {
					if rv, err = r.vs.Decode(rb); err != nil {
						return fmt.Errorf("decode right value: %w", err)
					}
				}
				res := joiner(k, lv, lok, rv, rok)
				ob, err := rs.Encode(res)
				if err != nil {
					return fmt.Errorf("encode result: %w", err)
				}
				if err := out.put(kb, ob); err != nil {
					return err
				}
				return fwd(rec{key: k, value: res, ts: rc.ts})
			}), nil
		})
		n.stores = []*storeDef{l.store, r.store, def}
		return n
	}
	ln, rn := side(l.n), side(r.n)
	merged := b.addNode("table-join", []*node{ln, rn}, func(_ *taskCtx, fwd forward) (proc, error) {
		return procFunc(fwd), nil
	})
	merged.stores = []*storeDef{def}
	return &Table[K, R]{b: b, n: merged, store: def, ks: l.ks, vs: rs}
}
