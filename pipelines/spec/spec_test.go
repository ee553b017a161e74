package spec

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestExprPositions(t *testing.T) {
	ms, _ := Parse("f.yaml", []byte("apiVersion: tributary.io/v1\nkind: Pipeline\nmetadata: {name: p}\nspec:\n  input: {topics: [a]}\n  outputs: [{topic: b}]\n  processors:\n    - filter: value.x + 1\n    - filter: 'value.y'\n    - map:\n        value: |\n          first\n            second ünï line\n"))
	if len(ms) != 1 || ms[0].Pipeline == nil || len(ms[0].Pipeline.Processors) != 3 {
		t.Fatalf("parse: %+v", ms)
	}
	procs := ms[0].Pipeline.Processors
	cases := []struct {
		name   string
		e      Expr
		offset int
		line   int
		col    int
	}{
		{"plain start", procs[0].Filter, 0, 8, 15},
		{"plain middle", procs[0].Filter, 8, 8, 23},
		{"quoted", procs[1].Filter, 6, 9, 22},
		{"block first line", procs[2].Map.Value, 2, 12, 13},
		{"block second line", procs[2].Map.Value, 6 + 2, 13, 13},
		{"block after multibyte runes", procs[2].Map.Value, 6 + 2 + utf8.RuneCountInString("second ünï "), 13, 24},
		{"past the end", procs[2].Map.Value, 1000, 14, 11},
	}
	for _, c := range cases {
		p := c.e.PosAt(c.offset)
		if p.Line != c.line || p.Col != c.col || p.File != "f.yaml" {
			t.Errorf("%s: PosAt(%d) = %s, want f.yaml:%d:%d", c.name, c.offset, p, c.line, c.col)
		}
	}
}

// TestDecodedSpec checks the values and defaults a valid pipeline decodes to.
func TestDecodedSpec(t *testing.T) {
	src := `apiVersion: tributary.io/v1
kind: Pipeline
metadata:
  name: p
  labels: {team: data}
spec:
  input:
    topics: [a, b]
    startFrom: latest
  processors:
    - parse: {format: regexp, pattern: '(?P<level>\w+) (?P<msg>.*)', from: value, into: value.parsed}
    - set: {value.env: '"prod"', headers.src: topic, key: value.id, timestamp: now()}
    - delete: value.secret
    - sample: {rate: 0.25, by: key}
    - dedupe: {key: value.id, window: 10m}
    - route: 'value.level == "error" ? "errors" : ["x", "y"]'
  outputs:
    - {name: errors, topic: e}
    - {topic: x}
    - {name: y, topic: y-topic}
  parallelism: 4
  limits: {maxNodes: 50, memoryBudget: 1000, recordTimeout: 2s}
`
	ms, probs := Parse("f.yaml", []byte(src))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	p := ms[0].Pipeline
	if ms[0].Labels.Values["team"] != "data" || len(p.Input.Topics) != 2 || p.Input.StartFrom != "latest" {
		t.Errorf("metadata/input: %+v %+v", ms[0].Labels, p.Input)
	}
	if p.Delivery != ExactlyOnce || p.OnError.Action != Stop || p.Parallelism != 4 {
		t.Errorf("defaults: delivery %s, onError %s, parallelism %d", p.Delivery, p.OnError.Action, p.Parallelism)
	}
	if p.Limits != (Limits{MaxNodes: 50, MemoryBudget: 1000, RecordTimeout: 2 * time.Second}) {
		t.Errorf("limits: %+v", p.Limits)
	}
	pr := p.Processors
	if pr[0].Parse.Format != "regexp" || pr[0].Parse.Into.Text != "value.parsed" || pr[0].Parse.From.Src != "value" {
		t.Errorf("parse: %+v", pr[0].Parse)
	}
	if len(pr[1].Set) != 4 || pr[1].Set[1].Target.Root != "headers" || pr[1].Set[1].Target.Fields[0] != "src" {
		t.Errorf("set: %+v", pr[1].Set)
	}
	if len(pr[2].Delete) != 1 || pr[2].Delete[0].Fields[0] != "secret" {
		t.Errorf("delete: %+v", pr[2].Delete)
	}
	if pr[3].Sample.Rate != 0.25 || pr[3].Sample.By.Src != "key" || pr[4].Dedupe.Window != 10*time.Minute || pr[4].Dedupe.MaxKeys != DefaultDedupeKeys {
		t.Errorf("sample/dedupe: %+v %+v", pr[3].Sample, pr[4].Dedupe)
	}
	if pr[5].Route.Expr.IsZero() || len(pr[5].Route.Cases) != 0 {
		t.Errorf("route: %+v", pr[5].Route)
	}
	if o, ok := p.Output("x"); !ok || o.Topic != "x" {
		t.Errorf("output x: %+v %v", o, ok)
	}
	if !strings.Contains(p.String(), "a,b -> 6 processors -> errors,x,y (exactly-once, parallelism 4, on error stop)") {
		t.Errorf("String() = %s", p.String())
	}
}

func TestEditDistanceAndSuggest(t *testing.T) {
	cases := []struct {
		name  string
		known []string
		want  string
	}{
		{"partitons", []string{"partitions", "config"}, ` (did you mean "partitions"?)`},
		{"replication_factor", []string{"replicationFactor"}, ` (did you mean "replicationFactor"?)`},
		{"zzz", []string{"a", "b"}, " (known: a, b)"},
		{"zzz", []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"}, ""},
	}
	for _, c := range cases {
		if got := suggest(c.name, c.known); got != c.want {
			t.Errorf("suggest(%q) = %q, want %q", c.name, got, c.want)
		}
	}
}

// FuzzParse feeds arbitrary bytes to Parse: it must not panic, and every
// problem must have a position in the file that exists.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"apiVersion: tributary.io/v1\nkind: Pipeline\nmetadata: {name: p}\nspec:\n  input: {topics: [a]}\n  processors:\n    - filter: value.x > 1\n    - route: [{when: 'true', to: o}]\n  outputs: [{name: o, topic: b}]\n  onError: {dead-letter: d}\n",
		"apiVersion: tributary.io/v1\nkind: Topic\nmetadata: {name: t}\nspec: {partitions: 3, config: {a: b}}\n---\nkind: Connector\n",
		"apiVersion: tributary.io/v1\nkind: Connector\nmetadata: {name: c}\nspec: {plugin: file, type: sink, topics: [a], config: {dir: [x, y]}}\n",
		"a: &x [*x]\n", "- - -\n", "{", "kind: [", "\t", "spec:\n  processors:\n    - parse: {format: regexp, pattern: '(?P<a>.)'}\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, probs := Parse("f.yaml", data)
		// YAML breaks lines at \n, \r and a few Unicode breaks; count them
		// all as breaks (\r\n twice), an upper bound.
		text := string(data)
		lines := 1 + strings.Count(text, "\n") + strings.Count(text, "\r") +
			strings.Count(text, "\u0085") + strings.Count(text, "\u2028") + strings.Count(text, "\u2029")
		for _, p := range probs {
			if p.Pos.File != "f.yaml" || p.Pos.Line < 0 || p.Pos.Line > lines+1 || (p.Pos.Line > 0 && p.Pos.Col < 1) {
				t.Fatalf("problem with a position outside the file (%d lines): %s", lines, p)
			}
			if p.Msg == "" {
				t.Fatalf("problem without a message at %s", p.Pos)
			}
		}
		for _, m := range ms {
			if m.Pipeline != nil {
				for _, pr := range m.Pipeline.Processors {
					_ = pr.Filter.PosAt(len(pr.Filter.Src))
				}
			}
		}
	})
}
