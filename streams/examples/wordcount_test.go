package examples

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/streams"
	"github.com/tributary-io/tributary/streams/streamstest"
)

func TestWordCount(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  map[string]int64
	}{
		{"empty", nil, map[string]int64{}},
		{"one line", []string{"a b a"}, map[string]int64{"a": 2, "b": 1}},
		{"case and spaces", []string{"The cat", "  the   CAT sat ", "sat"}, map[string]int64{"the": 2, "cat": 2, "sat": 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := streams.NewBuilder()
			WordCount(b, "lines", "counts")
			top, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			d, err := streamstest.New(top, time.Unix(0, 0))
			if err != nil {
				t.Fatal(err)
			}
			in := streamstest.Input(d, "lines", streams.String(), streams.String())
			for i, l := range tt.lines {
				if err := in.Pipe("", l, int64(i)); err != nil {
					t.Fatal(err)
				}
			}
			got, err := streamstest.ReadTable(streamstest.Output(d, "counts", streams.String(), streams.Int64()))
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tt.want) {
				t.Fatalf("counts %v, want %v", got, tt.want)
			}
			for w, n := range tt.want {
				v, ok, err := streams.Get[string, int64](d.Querier(), WordCountStore, w)
				if err != nil || !ok || v != n {
					t.Fatalf("store %q = %d, %v, %v; want %d", w, v, ok, err, n)
				}
			}
			all, err := streams.Range[string, int64](d.Querier(), WordCountStore, "", strings.Repeat("\xff", 4))
			if err != nil || len(all) != len(tt.want) {
				t.Fatalf("range: %d entries, %v; want %d", len(all), err, len(tt.want))
			}
		})
	}
}
