package streams_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"

	"github.com/tributary-io/tributary/streams"
	"github.com/tributary-io/tributary/streams/streamstest"
)

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
	refs := randomTableUpdates(t, d, 51)
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
	checkJoinedTable(t, d, "left-out", "left", wantLeft)
	checkJoinedTable(t, d, "outer-out", "outer", wantOuter)
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

// randomTableUpdates writes 3,000 random updates and deletions (a third)
// of 40 keys to the tables lt and rt, and returns what each then holds.
func randomTableUpdates(t *testing.T, d *streamstest.Driver, seed uint64) [2]map[string]string {
	t.Helper()
	ins := []*streamstest.InputTopic[string, string]{
		streamstest.Input(d, "lt", streams.String(), streams.String()),
		streamstest.Input(d, "rt", streams.String(), streams.String()),
	}
	refs := [2]map[string]string{{}, {}}
	rng := rand.New(rand.NewPCG(seed, seed+1))
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
	return refs
}

// checkJoinedTable compares a joined table, as its output topic ends up
// and as its store holds it, with want.
func checkJoinedTable(t *testing.T, d *streamstest.Driver, topic, store string, want map[string]string) {
	t.Helper()
	got, err := streamstest.ReadTable(streamstest.Output(d, topic, streams.String(), streams.String()))
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) || len(want) == 0 {
		t.Fatalf("%s: joined table has %d keys, want %d", topic, len(got), len(want))
	}
	all, err := streams.Range[string, string](d.Querier(), store, "k", "k999")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(want) {
		t.Fatalf("store %s holds %d keys, want %d", store, len(all), len(want))
	}
	for _, kv := range all {
		if want[kv.Key] != kv.Value {
			t.Fatalf("store %s: %s=%s, want %s", store, kv.Key, kv.Value, want[kv.Key])
		}
	}
}
