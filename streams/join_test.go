package streams_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/tributary-io/tributary/streams"
	"github.com/tributary-io/tributary/streams/streamstest"
)

func buildDriver(t *testing.T, b *streams.Builder) *streamstest.Driver {
	t.Helper()
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d, err := streamstest.New(top, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestStreamTableJoin interleaves table updates (and deletions) with stream
// records and checks the joined stream against a map kept alongside, for
// the inner and the left join.
func TestStreamTableJoin(t *testing.T) {
	for _, left := range []bool{false, true} {
		t.Run(fmt.Sprintf("left=%v", left), func(t *testing.T) {
			b := streams.NewBuilder()
			table := streams.FromTable(b, "customers", "customers", streams.String(), streams.String())
			orders := streams.FromTopic(b, streams.String(), streams.String(), "orders")
			var joined *streams.Stream[string, string]
			if left {
				joined = streams.LeftJoinStreamTable(orders, table, func(_ string, o, c string, found bool) string {
					if !found {
						return o + "/-"
					}
					return o + "/" + c
				})
			} else {
				joined = streams.JoinStreamTable(orders, table, func(_ string, o, c string) string { return o + "/" + c })
			}
			joined.To("enriched", streams.String(), streams.String())
			d := buildDriver(t, b)
			cust := streamstest.Input(d, "customers", streams.String(), streams.String())
			ord := streamstest.Input(d, "orders", streams.String(), streams.String())
			rng := rand.New(rand.NewPCG(11, 12))
			ref := map[string]string{}
			var want []string
			for i := range 3_000 {
				k := fmt.Sprintf("c%d", rng.IntN(20))
				switch rng.IntN(5) {
				case 0:
					v := fmt.Sprintf("name%d", i)
					ref[k] = v
					if err := cust.Pipe(k, v, int64(i)); err != nil {
						t.Fatal(err)
					}
				case 1:
					delete(ref, k)
					if err := cust.PipeTombstone(k, int64(i)); err != nil {
						t.Fatal(err)
					}
				default:
					o := fmt.Sprintf("o%d", i)
					if c, ok := ref[k]; ok {
						want = append(want, k+"="+o+"/"+c)
					} else if left {
						want = append(want, k+"="+o+"/-")
					}
					if err := ord.Pipe(k, o, int64(i)); err != nil {
						t.Fatal(err)
					}
				}
			}
			recs, err := streamstest.Output(d, "enriched", streams.String(), streams.String()).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range recs {
				got = append(got, r.Key+"="+r.Value)
			}
			if !slices.Equal(got, want) || len(want) == 0 {
				t.Fatalf("joined %d records, want %d; first got %v want %v", len(got), len(want), got[:min(3, len(got))], want[:min(3, len(want))])
			}
		})
	}
}

// TestStreamStreamJoin runs the inner and the left stream-stream join on
// out-of-order events and compares with a direct computation: one result
// per pair of records with the key whose timestamps are at most the window
// apart and, for the left join, exactly one unmatched result for each left
// record without a partner, once no right record can match it any more (a
// last record far ahead in time closes every window).
func TestStreamStreamJoin(t *testing.T) {
	for _, left := range []bool{false, true} {
		t.Run(fmt.Sprintf("left=%v", left), func(t *testing.T) { testStreamStreamJoin(t, left) })
	}
}

func testStreamStreamJoin(t *testing.T, left bool) {
	const window, grace = 30, 200
	b := streams.NewBuilder()
	l := streams.FromTopic(b, streams.String(), streams.String(), "left")
	r := streams.FromTopic(b, streams.String(), streams.String(), "right")
	cfg := streams.StreamJoin[string, string, string]{
		Name: "lr", Window: window * time.Millisecond, Grace: grace * time.Millisecond,
		Key: streams.String(), Left: streams.String(), Right: streams.String(),
	}
	if left {
		streams.LeftJoinStreams(l, r, cfg, func(_ string, a, c string, found bool) string {
			if !found {
				return a + "+-"
			}
			return a + "+" + c
		}).To("joined", streams.String(), streams.String())
	} else {
		streams.JoinStreams(l, r, cfg, func(k, a, c string) string { return a + "+" + c }).To("joined", streams.String(), streams.String())
	}
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
	rng := rand.New(rand.NewPCG(21, 22))
	var evs []ev
	for i := range 2_000 {
		// Keys sparse enough that many left records find no partner.
		ts := 1_000 + int64(i)*4 - rng.Int64N(60)
		evs = append(evs, ev{rng.IntN(2) == 0, fmt.Sprintf("k%d", rng.IntN(8)), fmt.Sprintf("v%d", i), ts})
	}
	evs = append(evs, ev{false, "closer", "end", 1_000_000})
	var want []string
	unmatched := 0
	for _, a := range evs {
		found := false
		for _, c := range evs {
			if a.left && !c.left && a.key == c.key && abs(a.ts-c.ts) <= window {
				want = append(want, fmt.Sprintf("%s=%s+%s@%d", a.key, a.val, c.val, max(a.ts, c.ts)))
				found = true
			}
		}
		if a.left && !found {
			unmatched++
			if left {
				want = append(want, fmt.Sprintf("%s=%s+-@%d", a.key, a.val, a.ts))
			}
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
	if !slices.Equal(got, want) || unmatched == 0 || len(want) <= unmatched {
		t.Fatalf("joined %d results, want %d (%d left records have no partner)", len(got), len(want), unmatched)
	}
	if d.LateRecords() != 0 {
		t.Fatalf("%d late records, want none", d.LateRecords())
	}
	t.Logf("%d results equal the reference; %d left records without a partner", len(want), unmatched)
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestTableTableJoin applies random updates and deletions to two tables and
// checks the joined table (output topic and store) against the join of the
// final maps.
func TestTableTableJoin(t *testing.T) {
	b := streams.NewBuilder()
	lt := streams.FromTable(b, "lt", "lt", streams.String(), streams.String())
	rt := streams.FromTable(b, "rt", "rt", streams.String(), streams.String())
	streams.JoinTables(lt, rt, "joined", func(_ string, a, c string) string { return a + "|" + c }, streams.String()).
		ToStream().To("out", streams.String(), streams.String())
	d := buildDriver(t, b)
	refs := randomTableUpdates(t, d, 31)
	want := map[string]string{}
	for k, a := range refs[0] {
		if c, ok := refs[1][k]; ok {
			want[k] = a + "|" + c
		}
	}
	checkJoinedTable(t, d, "out", "joined", want)
}
