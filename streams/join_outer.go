package streams

import "fmt"

// LeftJoinStreams is JoinStreams that also keeps left records no right
// record matched: once no right record can match one any more — when
// stream time has passed its timestamp by twice cfg.Window plus cfg.Grace,
// since an accepted right record is at most Window+Grace behind stream time
// and matches left records up to Window before it — it produces
// joiner(key, left, zero V2, false) with its own timestamp, once. Matched
// left records produce joiner(key, left, right, true) for every match, as
// in JoinStreams, and never the unmatched result, so there are no spurious
// results to retract. Unmatched left records wait in the join's index
// store, with the rest of its state in changelogs.
func LeftJoinStreams[K, V1, V2, R any](l *Stream[K, V1], r *Stream[K, V2], cfg StreamJoin[K, V1, V2], joiner func(k K, left V1, right V2, found bool) R) *Stream[K, R] {
	return streamJoin(l, r, cfg, true, joiner)
}

// unmatchedPrefix marks, in a stream-stream left join's index store, the
// left records waiting for a match: key unmatchedPrefix + time + window
// key, value the list of the left values at that key and time.
const unmatchedPrefix = 'u'

// trackUnmatched keeps a left join's unmatched-left bookkeeping: a left
// record (key kb, time ts, encoded value vb) that matched nothing waits; a
// right record clears the left records it matched, at times matched.
func trackUnmatched(ix *store, isLeft bool, kb []byte, ts int64, vb []byte, matched []int64) error {
	if isLeft {
		if len(matched) > 0 {
			return nil
		}
		k := indexKey(unmatchedPrefix, ts, windowKey(kb, ts))
		old, _ := ix.get(k)
		return ix.put(k, appendValue(append([]byte(nil), old...), vb))
	}
	for _, t := range matched {
		k := indexKey(unmatchedPrefix, t, windowKey(kb, t))
		if _, waiting := ix.get(k); waiting {
			if err := ix.put(k, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// emitUnmatched removes the waiting left records older than upTo and calls
// emit for each of their values, in time order.
func emitUnmatched(ix *store, upTo int64, emit func(kb []byte, ts int64, vb []byte) error) error {
	type entry struct {
		key  string
		ts   int64
		kb   []byte
		list []byte
	}
	var es []entry
	var bad error
	ix.b.scan(string([]byte{unmatchedPrefix}), string(indexKey(unmatchedPrefix, upTo, nil)), func(k string, list []byte) bool {
		t, ref := splitTimeKey([]byte(k[1:]))
		kb, _, ok := splitWindowKey(ref)
		if !ok {
			bad = fmt.Errorf("streams: corrupt left join index entry %q", k)
			return false
		}
		es = append(es, entry{k, t, kb, append([]byte(nil), list...)})
		return true
	})
	if bad != nil {
		return bad
	}
	for _, e := range es {
		if err := ix.put([]byte(e.key), nil); err != nil {
			return err
		}
		if err := eachValue(e.list, func(vb []byte) error { return emit(e.kb, e.ts, vb) }); err != nil {
			return err
		}
	}
	return nil
}

// LeftJoinTables is JoinTables that keeps every key of the left table: a
// key the right table lacks gets joiner(key, left, zero V2, false); the
// result is deleted only when the left side deletes the key.
func LeftJoinTables[K, V1, V2, R any](l *Table[K, V1], r *Table[K, V2], storeName string, joiner func(k K, left V1, right V2, rightFound bool) R, rs Serde[R]) *Table[K, R] {
	return tableJoin(l, r, storeName, joinLeft, func(k K, lv V1, _ bool, rv V2, rok bool) R { return joiner(k, lv, rv, rok) }, rs)
}

// OuterJoinTables is JoinTables that keeps every key of either table: the
// side that lacks the key gives its zero value and found=false; the result
// is deleted when both sides have deleted the key.
func OuterJoinTables[K, V1, V2, R any](l *Table[K, V1], r *Table[K, V2], storeName string, joiner func(k K, left V1, leftFound bool, right V2, rightFound bool) R, rs Serde[R]) *Table[K, R] {
	return tableJoin(l, r, storeName, joinOuter, joiner, rs)
}
