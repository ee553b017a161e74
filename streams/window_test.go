package streams_test

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/tributary-io/tributary/streams"
	"github.com/tributary-io/tributary/streams/streamstest"
)

type tsRecord struct {
	key string
	ts  int64
}

// outOfOrder makes n records over keys with timestamps that mostly rise by
// step but jump back by up to jitter.
func outOfOrder(n, keys int, step, jitter int64, seed uint64) []tsRecord {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([]tsRecord, n)
	for i := range out {
		ts := 1_000 + int64(i)*step - rng.Int64N(jitter+1)
		out[i] = tsRecord{key: fmt.Sprintf("k%d", rng.IntN(keys)), ts: max(ts, 0)}
	}
	return out
}

type winKey struct {
	key        string
	start, end int64
}

// referenceTimeWindows computes what a windowed count must hold: a record
// counts in each of its windows whose end is after stream time minus grace
// at its arrival; a record counting nowhere is late.
func referenceTimeWindows(rs []tsRecord, size, advance, grace int64) (map[winKey]int64, int64, int64) {
	counts := map[winKey]int64{}
	observed := int64(-1 << 62)
	var late int64
	for _, r := range rs {
		observed = max(observed, r.ts)
		accepted := false
		for start := r.ts - r.ts%advance; start > r.ts-size; start -= advance {
			if start < 0 {
				break
			}
			if start+size <= observed-grace {
				continue
			}
			accepted = true
			counts[winKey{r.key, start, start + size}]++
		}
		if !accepted {
			late++
		}
	}
	return counts, late, observed
}

func windowedCountDriver(t *testing.T, w streams.Windows, emit streams.Emit) *streamstest.Driver {
	t.Helper()
	b := streams.NewBuilder()
	s := streams.FromTopic(b, streams.String(), streams.String(), "events")
	counts := streams.WindowedCount(s.GroupByKey(streams.String(), streams.String()).WindowedBy(w), "counts", emit)
	counts.ToStream().To("out", streams.WindowedSerde(streams.String()), streams.Int64())
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

func pipeAll(t *testing.T, d *streamstest.Driver, topic string, rs []tsRecord) {
	t.Helper()
	in := streamstest.Input(d, topic, streams.String(), streams.String())
	for _, r := range rs {
		if err := in.Pipe(r.key, "v", r.ts); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTimeWindowsOutOfOrder checks tumbling and hopping counts over
// out-of-order records against the reference: records within the grace
// period update their windows, later ones are dropped and counted, and
// final-only emission emits every closed window once with its final count.
func TestTimeWindowsOutOfOrder(t *testing.T) {
	rs := outOfOrder(3_000, 5, 10, 400, 3)
	tests := []struct {
		name                 string
		size, advance, grace int64
	}{
		{"tumbling no grace", 100, 100, 0},
		{"tumbling grace", 100, 100, 150},
		{"hopping grace", 200, 50, 120},
	}
	for _, tt := range tests {
		want, wantLate, observed := referenceTimeWindows(rs, tt.size, tt.advance, tt.grace)
		if wantLate == 0 || wantLate == int64(len(rs)) {
			t.Fatalf("%s: the data should have some late records, has %d of %d", tt.name, wantLate, len(rs))
		}
		w := streams.HoppingWindows(time.Duration(tt.size)*time.Millisecond, time.Duration(tt.advance)*time.Millisecond).
			Grace(time.Duration(tt.grace) * time.Millisecond).Retention(time.Hour)
		t.Run(tt.name+"/every update", func(t *testing.T) {
			d := windowedCountDriver(t, w, streams.EmitEveryUpdate)
			pipeAll(t, d, "events", rs)
			out, err := streamstest.ReadTable(streamstest.Output(d, "out", streams.WindowedSerde(streams.String()), streams.Int64()))
			if err != nil {
				t.Fatal(err)
			}
			got := map[winKey]int64{}
			for k, v := range out {
				got[winKey{k.Key, k.Start, k.End}] = v
			}
			compareWindows(t, got, want)
			if d.LateRecords() != wantLate {
				t.Fatalf("late records %d, want %d", d.LateRecords(), wantLate)
			}
			// Interactive query: one key's windows from the store.
			ws, err := streams.FetchWindows[string, int64](d.Querier(), "counts", "k1", 0, observed)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range ws {
				if want[winKey{"k1", x.Start, x.End}] != x.Value {
					t.Fatalf("fetch k1 [%d,%d) = %d, want %d", x.Start, x.End, x.Value, want[winKey{"k1", x.Start, x.End}])
				}
			}
			if len(ws) == 0 {
				t.Fatal("fetch returned no windows for k1")
			}
		})
		t.Run(tt.name+"/final only", func(t *testing.T) {
			d := windowedCountDriver(t, w, streams.EmitFinal)
			pipeAll(t, d, "events", rs)
			recs, err := streamstest.Output(d, "out", streams.WindowedSerde(streams.String()), streams.Int64()).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			got := map[winKey]int64{}
			for _, r := range recs {
				k := winKey{r.Key.Key, r.Key.Start, r.Key.End}
				if _, dup := got[k]; dup {
					t.Fatalf("window %v emitted twice", k)
				}
				got[k] = r.Value
			}
			closed := map[winKey]int64{}
			for k, v := range want {
				if k.end <= observed-tt.grace {
					closed[k] = v
				}
			}
			compareWindows(t, got, closed)
		})
	}
}

func compareWindows(t *testing.T, got, want map[winKey]int64) {
	t.Helper()
	var bad []string
	for k, v := range want {
		if got[k] != v {
			bad = append(bad, fmt.Sprintf("%v: got %d want %d", k, got[k], v))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			bad = append(bad, fmt.Sprintf("%v: unexpected", k))
		}
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		t.Fatalf("%d of %d windows differ, first: %v", len(bad), len(want), bad[:min(5, len(bad))])
	}
	if len(want) == 0 {
		t.Fatal("the reference has no windows")
	}
}

// TestSessionWindows checks session counts against sessions cut from the
// sorted records wherever two neighbours are more than gap apart; grace
// covers the disorder, so merging makes arrival order irrelevant.
func TestSessionWindows(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	var rs []tsRecord
	var ts int64 = 1_000
	for range 2_000 {
		ts += rng.Int64N(40) // gaps up to 39ms; gap 25ms cuts sessions often
		rs = append(rs, tsRecord{key: fmt.Sprintf("k%d", rng.IntN(3)), ts: ts})
	}
	// Shuffle neighbours a little: out of order within 100ms.
	for i := range rs {
		j := min(len(rs)-1, i+rng.IntN(3))
		rs[i], rs[j] = rs[j], rs[i]
	}
	const gap = 25
	byKey := map[string][]int64{}
	for _, r := range rs {
		byKey[r.key] = append(byKey[r.key], r.ts)
	}
	want := map[winKey]int64{}
	for k, tss := range byKey {
		sort.Slice(tss, func(i, j int) bool { return tss[i] < tss[j] })
		start, n := tss[0], int64(1)
		for i := 1; i < len(tss); i++ {
			if tss[i]-tss[i-1] > gap {
				want[winKey{k, start, tss[i-1]}] = n
				start, n = tss[i], 0
			}
			n++
		}
		want[winKey{k, start, tss[len(tss)-1]}] = n
	}
	d := windowedCountDriver(t, streams.SessionWindows(gap*time.Millisecond).Grace(time.Second).Retention(time.Hour), streams.EmitEveryUpdate)
	pipeAll(t, d, "events", rs)
	out, err := streamstest.ReadTable(streamstest.Output(d, "out", streams.WindowedSerde(streams.String()), streams.Int64()))
	if err != nil {
		t.Fatal(err)
	}
	got := map[winKey]int64{}
	for k, v := range out {
		got[winKey{k.Key, k.Start, k.End}] = v
	}
	compareWindows(t, got, want)
	if d.LateRecords() != 0 {
		t.Fatalf("%d late records, want none", d.LateRecords())
	}
}

// TestSlidingWindows checks that the window ending at each record's time
// holds the count of the key's records within diff before it.
func TestSlidingWindows(t *testing.T) {
	rs := outOfOrder(1_500, 3, 7, 60, 9)
	const diff = 50
	want := map[winKey]int64{}
	for _, r := range rs {
		want[winKey{r.key, r.ts - diff, r.ts}] = 0
	}
	for w := range want {
		for _, r := range rs {
			if r.key == w.key && r.ts >= w.start && r.ts <= w.end {
				want[w]++
			}
		}
	}
	d := windowedCountDriver(t, streams.SlidingWindows(diff*time.Millisecond).Grace(time.Second).Retention(time.Hour), streams.EmitEveryUpdate)
	pipeAll(t, d, "events", rs)
	out, err := streamstest.ReadTable(streamstest.Output(d, "out", streams.WindowedSerde(streams.String()), streams.Int64()))
	if err != nil {
		t.Fatal(err)
	}
	got := map[winKey]int64{}
	for k, v := range out {
		got[winKey{k.Key, k.Start, k.End}] = v
	}
	compareWindows(t, got, want)
}
