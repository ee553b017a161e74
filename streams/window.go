package streams

import (
	"fmt"
	"time"
)

type windowKind int

const (
	tumblingWindows windowKind = iota
	hoppingWindows
	slidingWindows
	sessionWindows
)

// Windows defines the windows of a windowed aggregation, on event time
// (the record timestamp, or what WithTimestamp set).
type Windows struct {
	kind                              windowKind
	size, advance, gap, grace, retain time.Duration
}

// TumblingWindows are fixed, non-overlapping windows [n*size, (n+1)*size).
func TumblingWindows(size time.Duration) Windows {
	return Windows{kind: tumblingWindows, size: size, advance: size}
}

// HoppingWindows are windows of size starting every advance; a record is in
// size/advance of them.
func HoppingWindows(size, advance time.Duration) Windows {
	return Windows{kind: hoppingWindows, size: size, advance: advance}
}

// SlidingWindows are windows [t-diff, t] ending at each record's timestamp
// t; each aggregates every record within diff before it. A record also
// updates every existing window that contains it.
func SlidingWindows(diff time.Duration) Windows {
	return Windows{kind: slidingWindows, size: diff}
}

// SessionWindows group a key's records into sessions separated by at least
// gap of inactivity; a record bridging two sessions merges them.
func SessionWindows(gap time.Duration) Windows {
	return Windows{kind: sessionWindows, gap: gap}
}

// Grace accepts records up to d late: a window closes once stream time
// passes its end by d; later records for it are dropped and counted as late.
// Default 0.
func (w Windows) Grace(d time.Duration) Windows { w.grace = d; return w }

// Retention keeps closed windows queryable for d after their end (at least
// the grace period). Default: the grace period.
func (w Windows) Retention(d time.Duration) Windows { w.retain = d; return w }

func (w Windows) validate() error {
	switch {
	case w.kind == sessionWindows && w.gap <= 0:
		return fmt.Errorf("streams: session windows need a positive gap, got %v", w.gap)
	case w.kind != sessionWindows && w.size <= 0:
		return fmt.Errorf("streams: windows need a positive size, got %v", w.size)
	case w.kind == hoppingWindows && (w.advance <= 0 || w.advance > w.size):
		return fmt.Errorf("streams: hopping windows need 0 < advance <= size, got %v and %v", w.advance, w.size)
	case w.grace < 0 || w.retain < 0:
		return fmt.Errorf("streams: grace and retention must not be negative")
	}
	return nil
}

// Emit selects when a windowed aggregation forwards results.
type Emit int

const (
	// EmitEveryUpdate forwards the window's aggregate after every record.
	EmitEveryUpdate Emit = iota
	// EmitFinal forwards each window once, when it closes (stream time
	// passed its end plus the grace period). Records that arrive in the
	// grace period are included; the emission survives restarts exactly
	// once because pending windows live in a changelogged store.
	EmitFinal
)

// WindowedGrouped is a grouped stream with windows, ready to aggregate.
type WindowedGrouped[K, V any] struct {
	g *Grouped[K, V]
	w Windows
}

// WindowedBy sets the windows of the aggregation.
func (g *Grouped[K, V]) WindowedBy(w Windows) *WindowedGrouped[K, V] {
	if err := w.validate(); err != nil {
		g.b.errs = append(g.b.errs, err)
	}
	return &WindowedGrouped[K, V]{g: g, w: w}
}

// WindowedCount counts each key's records per window.
func WindowedCount[K, V any](wg *WindowedGrouped[K, V], storeName string, emit Emit) *Table[Windowed[K], int64] {
	return WindowedAggregate(wg, storeName, emit, func() int64 { return 0 },
		func(_ K, _ V, n int64) int64 { return n + 1 },
		func(_ K, a, b int64) int64 { return a + b }, Int64())
}

// WindowedAggregate folds each key's records per window. merge combines
// two sessions' aggregates when a record bridges them; only session windows
// call it (nil is fine otherwise). The store holds the windows for
// FetchWindows; an index store "<store>-index" tracks pending emissions and
// expiry, and sliding windows keep the raw records in "<store>-buffer".
func WindowedAggregate[K, V, A any](wg *WindowedGrouped[K, V], storeName string, emit Emit, init func() A,
	agg func(K, V, A) A, merge func(K, A, A) A, aggSerde Serde[A]) *Table[Windowed[K], A] {
	g, w := wg.g, wg.w
	b := g.b
	storeName = b.uniqueName(storeName, "window-store")
	kind := windowStoreKind
	if w.kind == sessionWindows {
		kind = sessionStoreKind
		if merge == nil {
			b.errs = append(b.errs, fmt.Errorf("streams: store %s: session windows need a merge function", storeName))
		}
	}
	def := b.addStore(&storeDef{name: storeName, kind: kind, keySerde: erase(g.ks), valueSerde: erase(aggSerde), windowSize: w.size.Milliseconds()})
	ix := b.addStore(&storeDef{name: storeName + "-index", kind: kvStoreKind})
	stores := []*storeDef{def, ix}
	var buf *storeDef
	if w.kind == slidingWindows {
		buf = b.addStore(&storeDef{name: storeName + "-buffer", kind: windowStoreKind, keySerde: erase(g.ks)})
		stores = append(stores, buf)
	}
	n := b.addNode("windowed-aggregate", []*node{g.n}, func(tc *taskCtx, fwd forward) (proc, error) {
		p := &windowProc[K, V, A]{
			tc: tc, fwd: fwd, w: w, emit: emit, st: tc.store(def.name), ix: tc.store(ix.name),
			ks: g.ks, vs: g.vs, as: aggSerde, init: init, agg: agg, merge: merge, observed: minTime,
		}
		if buf != nil {
			p.buf = tc.store(buf.name)
		}
		return p, nil
	})
	n.stores = stores
	return &Table[Windowed[K], A]{b: b, n: n, store: def, ks: WindowedSerde(g.ks), vs: aggSerde}
}

// windowProc is the windowed aggregation processor of one task.
type windowProc[K, V, A any] struct {
	tc       *taskCtx
	fwd      forward
	w        Windows
	emit     Emit
	st, ix   *store
	buf      *store // sliding windows only
	ks       Serde[K]
	vs       Serde[V]
	as       Serde[A]
	init     func() A
	agg      func(K, V, A) A
	merge    func(K, A, A) A
	observed int64
	loaded   bool
}

// Index entries: 'p' + timeKey(end, window key) while a final-only window
// waits to be emitted, 'r' + timeKey(end, window key) until it expires.
// The reference in an index entry starts with refWindow (a window of the
// main store) or refBuffer (a sliding window's buffered record).
const (
	pendingPrefix = 'p'
	retainPrefix  = 'r'
	refWindow     = 'w'
	refBuffer     = 'b'
)

func indexKey(prefix byte, t int64, ref []byte) []byte {
	return append([]byte{prefix}, timeKey(t, ref)...)
}

// due removes and returns the index entries under prefix with time < upTo.
func due(ix *store, prefix byte, upTo int64) ([]int64, [][]byte, error) {
	var ts []int64
	var refs [][]byte
	var keys []string
	ix.b.scan(string([]byte{prefix}), string(indexKey(prefix, upTo, nil)), func(k string, _ []byte) bool {
		t, ref := splitTimeKey([]byte(k[1:]))
		ts, refs, keys = append(ts, t), append(refs, ref), append(keys, k)
		return true
	})
	for _, k := range keys {
		if err := ix.put([]byte(k), nil); err != nil {
			return nil, nil, err
		}
	}
	return ts, refs, nil
}

func (p *windowProc[K, V, A]) getAgg(key []byte) (A, bool, error) {
	var a A
	b, ok := p.st.get(key)
	if !ok {
		return a, false, nil
	}
	a, err := p.as.Decode(b)
	if err != nil {
		return a, false, fmt.Errorf("decode aggregate: %w", err)
	}
	return a, true, nil
}

func (p *windowProc[K, V, A]) putAgg(key []byte, a A) error {
	b, err := p.as.Encode(a)
	if err != nil {
		return fmt.Errorf("encode aggregate: %w", err)
	}
	return p.st.put(key, b)
}

// closeTime is the stream time before which a window end is closed.
func (p *windowProc[K, V, A]) closeTime() int64 {
	c := p.observed - p.w.grace.Milliseconds()
	if p.w.kind == sessionWindows {
		c -= p.w.gap.Milliseconds()
	}
	return c
}

func (p *windowProc[K, V, A]) process(r rec) error {
	if r.value == nil {
		return nil
	}
	if !p.loaded {
		p.observed, p.loaded = getMetaTime(p.ix), true
	}
	advanced := false
	if r.ts > p.observed {
		p.observed, advanced = r.ts, true
		if err := putMetaTime(p.ix, p.observed); err != nil {
			return err
		}
	}
	k, v := cast[K](r.key), cast[V](r.value)
	kb, err := p.ks.Encode(k)
	if err != nil {
		return fmt.Errorf("encode key: %w", err)
	}
	var accepted bool
	switch p.w.kind {
	case sessionWindows:
		accepted, err = p.session(k, kb, v, r.ts)
	case slidingWindows:
		accepted, err = p.sliding(k, kb, v, r.ts)
	default:
		accepted, err = p.timeWindows(k, kb, v, r.ts)
	}
	if err != nil {
		return err
	}
	if !accepted {
		p.tc.stats.late++
	}
	if advanced {
		return p.expire()
	}
	return nil
}

// track adds the index entries of a new window ending at end.
func (p *windowProc[K, V, A]) track(wk []byte, end int64) error {
	wk = append([]byte{refWindow}, wk...)
	if p.emit == EmitFinal {
		if err := p.ix.put(indexKey(pendingPrefix, end, wk), []byte{1}); err != nil {
			return err
		}
	}
	return p.ix.put(indexKey(retainPrefix, end, wk), []byte{1})
}

func (p *windowProc[K, V, A]) untrack(wk []byte, end int64) error {
	wk = append([]byte{refWindow}, wk...)
	if err := p.ix.put(indexKey(pendingPrefix, end, wk), nil); err != nil {
		return err
	}
	return p.ix.put(indexKey(retainPrefix, end, wk), nil)
}

func (p *windowProc[K, V, A]) update(k K, wk []byte, start, end int64, ts int64, fn func(A) A) error {
	cur, ok, err := p.getAgg(wk)
	if err != nil {
		return err
	}
	if !ok {
		cur = p.init()
		if err := p.track(wk, end); err != nil {
			return err
		}
	}
	cur = fn(cur)
	if err := p.putAgg(wk, cur); err != nil {
		return err
	}
	if p.emit == EmitEveryUpdate {
		return p.fwd(rec{key: Windowed[K]{Key: k, Start: start, End: end}, value: cur, ts: ts})
	}
	return nil
}

func (p *windowProc[K, V, A]) timeWindows(k K, kb []byte, v V, ts int64) (bool, error) {
	size, adv := p.w.size.Milliseconds(), p.w.advance.Milliseconds()
	closeAt := p.closeTime()
	accepted := false
	first := ts - ((ts%adv)+adv)%adv
	for start := first; start > ts-size; start -= adv {
		end := start + size
		if end <= closeAt {
			continue
		}
		accepted = true
		if err := p.update(k, windowKey(kb, start), start, end, ts, func(a A) A { return p.agg(k, v, a) }); err != nil {
			return false, err
		}
	}
	return accepted, nil
}

// sliding updates every window [s, s+diff] holding ts, and creates the
// window ending at ts from the buffered records when it does not exist.
func (p *windowProc[K, V, A]) sliding(k K, kb []byte, v V, ts int64) (bool, error) {
	diff := p.w.size.Milliseconds()
	closeAt := p.closeTime()
	if ts <= closeAt {
		return false, nil
	}
	vb, err := p.vs.Encode(v)
	if err != nil {
		return false, fmt.Errorf("encode value: %w", err)
	}
	bk := windowKey(kb, ts)
	old, _ := p.buf.get(bk)
	if err := p.buf.put(bk, appendValue(append([]byte(nil), old...), vb)); err != nil {
		return false, err
	}
	// The buffered record is needed until no open window can reach it.
	if err := p.ix.put(indexKey(retainPrefix, ts+diff, append([]byte{refBuffer}, bk...)), []byte{1}); err != nil {
		return false, err
	}
	// Existing windows containing ts: starts in [ts-diff, ts].
	type win struct {
		key   []byte
		start int64
	}
	var existing []win
	own := false
	p.st.b.scan(string(windowKey(kb, ts-diff)), string(windowKey(kb, ts+1)), func(key string, _ []byte) bool {
		_, s, ok := splitWindowKey([]byte(key))
		if ok {
			existing = append(existing, win{[]byte(key), s})
			own = own || s == ts-diff
		}
		return true
	})
	for _, w := range existing {
		if w.start+diff <= closeAt {
			continue
		}
		if err := p.update(k, w.key, w.start, w.start+diff, ts, func(a A) A { return p.agg(k, v, a) }); err != nil {
			return false, err
		}
	}
	if own {
		return true, nil
	}
	// The new window [ts-diff, ts] aggregates every buffered record in it,
	// including the one just added.
	var vals []V
	var derr error
	p.buf.b.scan(string(windowKey(kb, ts-diff)), string(windowKey(kb, ts+1)), func(_ string, list []byte) bool {
		derr = eachValue(list, func(b []byte) error {
			x, err := p.vs.Decode(b)
			vals = append(vals, x)
			return err
		})
		return derr == nil
	})
	if derr != nil {
		return false, derr
	}
	return true, p.update(k, windowKey(kb, ts-diff), ts-diff, ts, ts, func(a A) A {
		for _, x := range vals {
			a = p.agg(k, x, a)
		}
		return a
	})
}

// session merges the sessions within gap of ts with the record.
func (p *windowProc[K, V, A]) session(k K, kb []byte, v V, ts int64) (bool, error) {
	gap := p.w.gap.Milliseconds()
	type sess struct {
		key        []byte
		start, end int64
	}
	var merged []sess
	p.st.b.scan(string(sessionKey(kb, minTime, ts-gap)), prefixEnd(string(keyPrefix(kb))), func(key string, _ []byte) bool {
		_, s, e, ok := splitSessionKey([]byte(key))
		if ok && s <= ts+gap {
			merged = append(merged, sess{[]byte(key), s, e})
		}
		return true
	})
	start, end := ts, ts
	for _, s := range merged {
		start, end = min(start, s.start), max(end, s.end)
	}
	if end < p.closeTime() {
		return false, nil
	}
	cur := p.init()
	for _, s := range merged {
		a, _, err := p.getAgg(s.key)
		if err != nil {
			return false, err
		}
		cur = p.merge(k, cur, a)
		if err := p.st.put(s.key, nil); err != nil {
			return false, err
		}
		if err := p.untrack(s.key, s.end); err != nil {
			return false, err
		}
		if p.emit == EmitEveryUpdate {
			if err := p.fwd(rec{key: Windowed[K]{Key: k, Start: s.start, End: s.end}, ts: ts}); err != nil {
				return false, err
			}
		}
	}
	cur = p.agg(k, v, cur)
	return true, p.update(k, sessionKey(kb, start, end), start, end, ts, func(A) A { return cur })
}

// expire emits the final-only windows that closed and drops the windows
// (and buffered records) past retention.
func (p *windowProc[K, V, A]) expire() error {
	closeAt := p.closeTime()
	if p.emit == EmitFinal {
		ends, refs, err := due(p.ix, pendingPrefix, closeAt+1)
		if err != nil {
			return err
		}
		for i, ref := range refs {
			wk := ref[1:]
			a, ok, err := p.getAgg(wk)
			if err != nil || !ok {
				continue // a merged-away session; its entry is stale
			}
			var key []byte
			var start int64
			if p.w.kind == sessionWindows {
				key, start, _, _ = splitSessionKey(wk)
			} else {
				key, start, _ = splitWindowKey(wk)
			}
			k, err := p.ks.Decode(key)
			if err != nil {
				return fmt.Errorf("decode key: %w", err)
			}
			if err := p.fwd(rec{key: Windowed[K]{Key: k, Start: start, End: ends[i]}, value: a, ts: ends[i]}); err != nil {
				return err
			}
		}
	}
	// A window goes once its end is retain behind stream time; retain
	// covers the grace period (and for sessions the gap, within which a
	// record may still extend them), so nothing open is dropped.
	retain := max(p.w.retain, p.w.grace)
	if p.w.kind == sessionWindows {
		retain = max(retain, p.w.grace+p.w.gap)
	}
	_, refs, err := due(p.ix, retainPrefix, p.observed-retain.Milliseconds()+1)
	if err != nil {
		return err
	}
	for _, ref := range refs {
		if ref[0] == refBuffer {
			if err := p.buf.put(ref[1:], nil); err != nil {
				return err
			}
			continue
		}
		if err := p.st.put(ref[1:], nil); err != nil {
			return err
		}
	}
	return nil
}
