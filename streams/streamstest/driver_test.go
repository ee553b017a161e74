package streamstest

import (
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/tributary-io/tributary/streams"
)

func TestDriverTableAndErrors(t *testing.T) {
	b := streams.NewBuilder()
	streams.FromTable(b, "in", "tbl", streams.String(), streams.String()).ToStream().To("out", streams.String(), streams.String())
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(top, time.Unix(100, 0))
	if err != nil {
		t.Fatal(err)
	}
	in := Input(d, "in", streams.String(), streams.String())
	steps := []error{in.Pipe("a", "1", 1), in.Pipe("b", "2", 2), in.PipeTombstone("a", 3), in.Pipe("c", "3", 4)}
	if err := errors.Join(steps...); err != nil {
		t.Fatal(err)
	}
	got, err := ReadTable(Output(d, "out", streams.String(), streams.String()))
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"b": "2", "c": "3"}; !maps.Equal(got, want) {
		t.Fatalf("table %v, want %v", got, want)
	}
	if rest, _ := Output(d, "out", streams.String(), streams.String()).ReadAll(); len(rest) != 0 {
		t.Fatalf("a second read returned %d records, want none", len(rest))
	}
	if _, ok, _ := streams.Get[string, string](d.Querier(), "tbl", "a"); ok {
		t.Fatal("deleted key a is still in the store")
	}
	if err := Input(d, "nope", streams.String(), streams.String()).Pipe("k", "v", 0); err == nil {
		t.Fatal("piping into a topic the topology does not read succeeded")
	}
	if _, _, err := streams.Get[string, string](d.Querier(), "missing", "a"); !errors.Is(err, streams.ErrNoStore) {
		t.Fatalf("query of a missing store: %v, want ErrNoStore", err)
	}
}
