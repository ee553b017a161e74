package pipelines

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/pipelines/runner"
	"github.com/tributary-io/tributary/pipelines/spec/spectest"
)

// FuzzLoad feeds arbitrary manifests through validation and compilation,
// and, when they are valid, a few records through every pipeline: nothing
// may panic, and an invalid input must come with problems.
func FuzzLoad(f *testing.F) {
	for _, tc := range spectest.Invalid() {
		f.Add([]byte(tc.Src))
	}
	f.Add([]byte(header + "  input: {topics: [a]}\n  processors:\n    - parse: logfmt\n    - set: {value.x: 'len(value)'}\n    - dedupe: {key: value.x, window: 1s}\n    - sample: {rate: 0.5}\n    - delete: [value.a]\n    - route: 'value.x > 0 ? \"b\" : nil'\n  outputs: [{topic: b}]\n  onError: drop\n"))
	f.Add([]byte(header + "  input: {topics: [a]}\n  processors:\n    - map: {key: 'string(offset)', headers: {h: topic}}\n    - parse: {format: regexp, pattern: '(?P<w>\\w+)'}\n  outputs: [{topic: b}]\n  onError: {dead-letter: d}\n"))
	records := []*kgo.Record{
		{Topic: "a", Value: []byte(`{"a": 1, "x": [1, 2]}`)},
		{Topic: "a", Value: []byte(`level=info msg="hi" x=1`)},
		{Topic: "a", Key: []byte("k"), Value: nil},
		{Topic: "a", Value: []byte(`[1, "two", null]`)},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, probs := LoadBytes(context.Background(), "f.yaml", data, Options{})
		if b == nil {
			if len(probs) == 0 {
				t.Fatal("no bundle and no problems")
			}
			return
		}
		for _, m := range b.Manifests {
			if m.Pipeline == nil {
				continue
			}
			prog := b.Programs[m.Name]
			if prog == nil {
				t.Fatalf("pipeline %s validated but has no program", m.Name)
			}
			_, _, _ = runner.Offline(m.Name, m.Pipeline, prog, records)
		}
	})
}
