package streams_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/tributary-io/tributary/streams"
	"github.com/tributary-io/tributary/streams/streamstest"
)

// TestLeftStreamStreamJoin: every left record gives one result per right
// record within the window, or, when none, exactly one unmatched result
// once no right record can match it any more; compared with a direct
// computation over out-of-order events. A last record far ahead in time
// closes every window.
func TestLeftStreamStreamJoin(t *testing.T) {
	const window, grace = 30, 200
	b := streams.NewBuilder()
	l := streams.FromTopic(b, streams.String(), streams.String(), "left")
	r := streams.FromTopic(b, streams.String(), streams.String(), "right")
	streams.LeftJoinStreams(l, r, streams.StreamJoin[string, string, string]{
		Name: "lr", Window: window * time.Millisecond, Grace: grace * time.Millisecond,
		Key: streams.String(), Left: streams.String(), Right: streams.String(),
	}, func(_ string, a, c string, found bool) string {
		if !found {
			return a + "+-"
		}
		return a + "+" + c
	}).To("joined", streams.String(), streams.String())
	d := buildDriver(t, b)
	in := map[bool]*streamstest.InputTopic[string, string]{
		true:  streamstest.Input(d, "left", streams.String(), streams.String()),
		false: streamstest.Input(d, "right", streams.String(), streams.String()),
	}
	type ev struct {
		left     bool
		key, val string
		ts       int64
	}
	rng := rand.New(rand.NewPCG(41, 42))
	var evs []ev
	for i := range 2_000 {
		// Sparse keys, so many left records find no partner.
		ts := 1_000 + int64(i)*5 - rng.Int64N(80)
		evs = append(evs, ev{rng.IntN(2) == 0, fmt.Sprintf("k%d", rng.IntN(12)), fmt.Sprintf("v%d", i), ts})
	}
	evs = append(evs, ev{false, "closer", "end", 1_000_000})
	var want []string
	unmatched := 0
	for _, a := range evs {
		if !a.left {
			continue
		}
		found := false
		for _, c := range evs {
			if !c.left && a.key == c.key && abs(a.ts-c.ts) <= window {
				want = append(want, fmt.Sprintf("%s=%s+%s@%d", a.key, a.val, c.val, max(a.ts, c.ts)))
				found = true
			}
		}
		if !found {
			want = append(want, fmt.Sprintf("%s=%s+-@%d", a.key, a.val, a.ts))
			unmatched++
		}
	}
	for _, e := range evs {
		if err := in[e.left].Pipe(e.key, e.val, e.ts); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := streamstest.Output(d, "joined", streams.String(), streams.String()).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, fmt.Sprintf("%s=%s@%d", r.Key, r.Value, r.Timestamp))
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) || unmatched == 0 || len(want) == unmatched {
		t.Fatalf("joined %d results, want %d (%d of them unmatched left records)", len(got), len(want), unmatched)
	}
	if d.LateRecords() != 0 {
		t.Fatalf("%d late records, want none", d.LateRecords())
	}
	t.Logf("%d results equal the reference, %d of them unmatched left records", len(want), unmatched)
}

// TestLeftAndOuterTableJoins applies random updates and deletions to two
// tables and checks the left and outer joined tables (output topic and
// store) against joins of the final maps.
func TestLeftAndOuterTableJoins(t *testing.T) {
	b := streams.NewBuilder()
	lt := streams.FromTable(b, "lt", "lt", streams.String(), streams.String())
	rt := streams.FromTable(b, "rt", "rt", streams.String(), streams.String())
	orNone := func(v string, found bool) string {
		if !found {
			return "-"
		}
		return v
	}
	streams.LeftJoinTables(lt, rt, "left", func(_ string, a, c string, cok bool) string { return a + "|" + orNone(c, cok) }, streams.String()).
		ToStream().To("left-out", streams.String(), streams.String())
	streams.OuterJoinTables(lt, rt, "outer", func(_ string, a string, aok bool, c string, cok bool) string {
		return orNone(a, aok) + "|" + orNone(c, cok)
	}, streams.String()).ToStream().To("outer-out", streams.String(), streams.String())
	d := buildDriver(t, b)
	ins := []*streamstest.InputTopic[string, string]{
		streamstest.Input(d, "lt", streams.String(), streams.String()),
		streamstest.Input(d, "rt", streams.String(), streams.String()),
	}
	refs := []map[string]string{{}, {}}
	rng := rand.New(rand.NewPCG(51, 52))
	for i := range 3_000 {
		side, k := rng.IntN(2), fmt.Sprintf("k%03d", rng.IntN(40))
		if rng.IntN(3) == 0 {
			delete(refs[side], k)
			if err := ins[side].PipeTombstone(k, int64(i)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		v := fmt.Sprintf("v%d", i)
		refs[side][k] = v
		if err := ins[side].Pipe(k, v, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	wantLeft, wantOuter := map[string]string{}, map[string]string{}
	for k, a := range refs[0] {
		c, ok := refs[1][k]
		wantLeft[k] = a + "|" + orNone(c, ok)
		wantOuter[k] = a + "|" + orNone(c, ok)
	}
	for k, c := range refs[1] {
		if _, ok := refs[0][k]; !ok {
			wantOuter[k] = "-|" + c
		}
	}
	onlyRight := len(wantOuter) - len(wantLeft)
	for _, tt := range []struct {
		topic, store string
		want         map[string]string
	}{{"left-out", "left", wantLeft}, {"outer-out", "outer", wantOuter}} {
		got, err := streamstest.ReadTable(streamstest.Output(d, tt.topic, streams.String(), streams.String()))
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(got, tt.want) || len(tt.want) == 0 {
			t.Fatalf("%s: joined table has %d keys, want %d", tt.topic, len(got), len(tt.want))
		}
		all, err := streams.Range[string, string](d.Querier(), tt.store, "k", "k999")
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != len(tt.want) {
			t.Fatalf("store %s holds %d keys, want %d", tt.store, len(all), len(tt.want))
		}
		for _, kv := range all {
			if tt.want[kv.Key] != kv.Value {
				t.Fatalf("store %s: %s=%s, want %s", tt.store, kv.Key, kv.Value, tt.want[kv.Key])
			}
		}
	}
	leftOnly := 0
	for k := range refs[0] {
		if _, ok := refs[1][k]; !ok {
			leftOnly++
		}
	}
	if onlyRight == 0 || leftOnly == 0 {
		t.Fatalf("%d left-only and %d right-only keys: the left and outer cases are not both exercised", leftOnly, onlyRight)
	}
	t.Logf("left join %d keys (%d without a right value), outer join %d keys (%d without a left value)", len(wantLeft), leftOnly, len(wantOuter), onlyRight)
}
