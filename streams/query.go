package streams

import (
	"bytes"
	"fmt"
	"sort"
)

// Querier is something holding local stores: an App (the tasks this
// instance runs) or an Engine.
type Querier interface {
	// withStore calls fn with every local instance of the store, under
	// whatever lock keeps them still.
	withStore(name string, fn func(def *storeDef, stores []*store) error) error
}

func (a *App) withStore(name string, fn func(*storeDef, []*store) error) error {
	def, ok := a.top.stores[name]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoStore, name)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var ss []*store
	for _, t := range a.tasks {
		if s, ok := t.stores[name]; ok {
			ss = append(ss, s)
		}
	}
	return fn(def, ss)
}

func (e *Engine) withStore(name string, fn func(*storeDef, []*store) error) error {
	def, ok := e.top.stores[name]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoStore, name)
	}
	var ss []*store
	for _, t := range e.tasks {
		if s, ok := t.stores[name]; ok {
			ss = append(ss, s)
		}
	}
	return fn(def, ss)
}

// Get looks key up in the local key-value store named store; ok is false
// when no local task holds it.
func Get[K, V any](q Querier, storeName string, key K) (v V, ok bool, err error) {
	err = q.withStore(storeName, func(def *storeDef, ss []*store) error {
		if def.kind != kvStoreKind {
			return fmt.Errorf("streams: store %s is not a key-value store", storeName)
		}
		kb, err := def.keySerde.enc(key)
		if err != nil {
			return fmt.Errorf("encode key: %w", err)
		}
		for _, s := range ss {
			if b, found := s.get(kb); found {
				d, err := def.valueSerde.dec(b)
				if err != nil {
					return fmt.Errorf("decode value: %w", err)
				}
				v, ok = cast[V](d), true
				return nil
			}
		}
		return nil
	})
	return v, ok, err
}

// Range returns the entries of the local key-value store whose encoded keys
// lie in [encode(from), encode(to)], in byte order of the encoded keys.
func Range[K, V any](q Querier, storeName string, from, to K) ([]KeyValue[K, V], error) {
	var out []KeyValue[K, V]
	var order [][]byte
	err := q.withStore(storeName, func(def *storeDef, ss []*store) error {
		if def.kind != kvStoreKind {
			return fmt.Errorf("streams: store %s is not a key-value store", storeName)
		}
		fb, err := def.keySerde.enc(from)
		if err != nil {
			return fmt.Errorf("encode key: %w", err)
		}
		tb, err := def.keySerde.enc(to)
		if err != nil {
			return fmt.Errorf("encode key: %w", err)
		}
		end := string(tb) + "\x00" // inclusive upper bound
		var derr error
		for _, s := range ss {
			s.b.scan(string(fb), end, func(k string, v []byte) bool {
				if k == metaKey {
					return true
				}
				kd, err := def.keySerde.dec([]byte(k))
				if err != nil {
					derr = err
					return false
				}
				vd, err := def.valueSerde.dec(v)
				if err != nil {
					derr = err
					return false
				}
				out = append(out, KV(cast[K](kd), cast[V](vd)))
				order = append(order, []byte(k))
				return true
			})
		}
		return derr
	})
	idx := make([]int, len(out))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return bytes.Compare(order[idx[i]], order[idx[j]]) < 0 })
	sorted := make([]KeyValue[K, V], len(out))
	for i, j := range idx {
		sorted[i] = out[j]
	}
	return sorted, err
}

// WindowValue is one window of a windowed store.
type WindowValue[V any] struct {
	Start, End int64
	Value      V
}

// FetchWindows returns key's windows in the local window or session store
// whose start lies in [from, to], ordered by start.
func FetchWindows[K, V any](q Querier, storeName string, key K, from, to int64) ([]WindowValue[V], error) {
	var out []WindowValue[V]
	err := q.withStore(storeName, func(def *storeDef, ss []*store) error {
		kb, err := def.keySerde.enc(key)
		if err != nil {
			return fmt.Errorf("encode key: %w", err)
		}
		prefix := string(keyPrefix(kb))
		var derr error
		for _, s := range ss {
			s.b.scan(prefix, prefixEnd(prefix), func(k string, v []byte) bool {
				var start, end int64
				switch def.kind {
				case windowStoreKind:
					_, st, ok := splitWindowKey([]byte(k))
					if !ok {
						return true
					}
					start, end = st, st+def.windowSize
				case sessionStoreKind:
					_, st, en, ok := splitSessionKey([]byte(k))
					if !ok {
						return true
					}
					start, end = st, en
				default:
					derr = fmt.Errorf("streams: store %s is not windowed", storeName)
					return false
				}
				if start < from || start > to {
					return true
				}
				vd, err := def.valueSerde.dec(v)
				if err != nil {
					derr = err
					return false
				}
				out = append(out, WindowValue[V]{Start: start, End: end, Value: cast[V](vd)})
				return true
			})
		}
		return derr
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out, err
}

// prefixEnd returns the smallest string greater than every string with
// prefix p, or "" (unbounded) when p is all 0xff bytes.
func prefixEnd(p string) string {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return ""
}
