package examples

import (
	"testing"
	"time"

	"github.com/tributary-io/tributary/streams"
	"github.com/tributary-io/tributary/streams/streamstest"
)

func newDriver(t *testing.T, b *streams.Builder) *streamstest.Driver {
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

func TestPageViewsPerUser(t *testing.T) {
	const min5 = 5 * 60 * 1000
	b := streams.NewBuilder()
	PageViewsPerUser(b, "views", "counts", time.Minute)
	d := newDriver(t, b)
	in := streamstest.Input(d, "views", streams.String(), streams.JSON[PageView]())
	views := []PageView{
		{"ann", "/", 1_000}, {"bob", "/a", 2_000}, {"ann", "/b", min5 - 1},
		{"ann", "/c", min5 + 10},     // second window; stream time now past the first's end
		{"bob", "/late-ok", 3_000},   // within the one-minute grace: counts
		{"ann", "/d", min5 + 70_000}, // closes the first window (end + grace passed)
		{"bob", "/too-late", 4_000},  // after the close: dropped
		{"ann", "/e", 3 * min5},      // closes the second window
	}
	for _, v := range views {
		if err := in.Pipe("", v, v.At); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := streamstest.Output(d, "counts", streams.WindowedSerde(streams.String()), streams.Int64()).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	type win struct {
		user  string
		start int64
	}
	want := map[win]int64{{"ann", 0}: 2, {"bob", 0}: 2, {"ann", min5}: 2}
	got := map[win]int64{}
	for _, r := range recs {
		k := win{r.Key.Key, r.Key.Start}
		if _, dup := got[k]; dup {
			t.Fatalf("window %v emitted twice", k)
		}
		got[k] = r.Value
	}
	if len(got) != len(want) {
		t.Fatalf("emitted %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Fatalf("emitted %v, want %v", got, want)
		}
	}
	if d.LateRecords() != 1 {
		t.Fatalf("late records %d, want 1", d.LateRecords())
	}
}

func TestOrdersEnriched(t *testing.T) {
	b := streams.NewBuilder()
	OrdersEnriched(b, "orders", "customers", "enriched")
	d := newDriver(t, b)
	cust := streamstest.Input(d, "customers", streams.String(), streams.JSON[Customer]())
	ord := streamstest.Input(d, "orders", streams.String(), streams.JSON[Order]())
	steps := []func() error{
		func() error { return ord.Pipe("c1", Order{"o1", 5}, 1) },
		func() error { return cust.Pipe("c1", Customer{"Ann", "NL"}, 2) },
		func() error { return ord.Pipe("c1", Order{"o2", 7}, 3) },
		func() error { return cust.Pipe("c1", Customer{"Ann", "BE"}, 4) },
		func() error { return ord.Pipe("c1", Order{"o3", 9}, 5) },
		func() error { return cust.PipeTombstone("c1", 6) },
		func() error { return ord.Pipe("c1", Order{"o4", 1}, 7) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := streamstest.Output(d, "enriched", streams.String(), streams.JSON[EnrichedOrder]()).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := []EnrichedOrder{
		{Order: Order{"o1", 5}},
		{Order: Order{"o2", 7}, Customer: Customer{"Ann", "NL"}, Known: true},
		{Order: Order{"o3", 9}, Customer: Customer{"Ann", "BE"}, Known: true},
		{Order: Order{"o4", 1}},
	}
	if len(recs) != len(want) {
		t.Fatalf("%d enriched orders, want %d", len(recs), len(want))
	}
	for i, r := range recs {
		if r.Value != want[i] {
			t.Fatalf("order %d: %+v, want %+v", i, r.Value, want[i])
		}
	}
}
