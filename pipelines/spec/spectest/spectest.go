// Package spectest holds manifests shared by tests of several packages:
// Invalid, the table of invalid manifests with the problem every one must
// yield at its line and column, used by the offline validation tests
// (package pipelines) and by the end-to-end tests that apply them to a
// cluster and check that nothing changes. Only tests import it; it imports
// nothing of the module.
package spectest

import "fmt"

// Header is the start of a Pipeline manifest called p; the spec's first
// line is line 6.
const Header = "apiVersion: tributary.io/v1\nkind: Pipeline\nmetadata:\n  name: p\nspec:\n"

// Problem is an expected problem: its line and column, and text the
// message must contain.
type Problem struct {
	Line, Col int
	Text      string
}

// String shows the expectation as line:col: ...text... .
func (p Problem) String() string { return fmt.Sprintf("%d:%d: ...%s...", p.Line, p.Col, p.Text) }

// Case is one invalid file, f.yaml, and every problem validation must
// report for it, in order.
type Case struct {
	Name string
	Src  string
	Want []Problem
}

// Invalid returns manifests with mistakes, each with every problem
// validation must report, at its line and column, all at once. The file is
// called f.yaml (one message names it). A new slice on every call.
func Invalid() []Case {
	return []Case{
		{"unknown kind", "apiVersion: tributary.io/v1\nkind: Pipelin\nmetadata: {name: p}\nspec: {}\n",
			[]Problem{{2, 7, `unknown kind "Pipelin": want one of Topic, Connector, Pipeline (did you mean "Pipeline"?)`}}},
		{"unknown API version", "apiVersion: tributary.io/v2\nkind: Topic\nmetadata: {name: t}\nspec: {}\n",
			[]Problem{{1, 13, `unknown API version "tributary.io/v2": want tributary.io/v1`}}},
		{"missing name", "apiVersion: tributary.io/v1\nkind: Topic\nmetadata: {}\nspec: {}\n",
			[]Problem{{3, 11, `metadata: missing required field "name"`}}},
		{"bad name", "apiVersion: tributary.io/v1\nkind: Pipeline\nmetadata:\n  name: My_Pipeline\nspec:\n  input: {topics: [a]}\n  outputs: [{topic: b}]\n",
			[]Problem{{4, 9, `metadata.name: "My_Pipeline" is not a valid name`}}},
		{"misspelt spec and so no spec", "apiVersion: tributary.io/v1\nkind: Topic\nmetadata: {name: t}\nspecs: {}\n",
			[]Problem{{1, 1, `missing required field "spec"`}, {4, 1, `unknown field "specs" (did you mean "spec"?)`}}},
		{"topic fields of the wrong type", "apiVersion: tributary.io/v1\nkind: Topic\nmetadata: {name: t}\nspec:\n  partitions: three\n  replicationFactor: 0\n  config: [retention.ms]\n",
			[]Problem{{5, 15, `spec.partitions: want an integer, got the string "three"`}, {6, 22, `spec.replicationFactor: 0 is out of range: want 1 to 32`}, {7, 11, `spec.config: want a mapping of names to values, got a list`}}},
		{"missing input and outputs", Header + "  processors: []\n",
			[]Problem{{6, 3, `spec: missing required field "input"`}, {6, 3, `spec: missing required field "outputs"`}}},
		{"input with topics and a connector", Header + "  input:\n    topics: [a]\n    connector: {plugin: file}\n  outputs: [{topic: b}]\n",
			[]Problem{{8, 5, `spec.input: give topics or a connector, not both`}}},
		{"unknown processor", Header + "  input: {topics: [a]}\n  processors:\n    - filtr: value.ok\n  outputs: [{topic: b}]\n",
			[]Problem{{8, 7, `unknown processor "filtr" (did you mean "filter"?)`}}},
		{"expression syntax error", Header + "  input: {topics: [a]}\n  processors:\n    - filter: 'value.level == (1 +'\n  outputs: [{topic: b}]\n",
			[]Problem{{8, 34, `spec.processors[0].filter: unexpected token EOF`}}},
		{"filter is not boolean", Header + "  input: {topics: [a]}\n  processors:\n    - filter: offset + 1\n  outputs: [{topic: b}]\n",
			[]Problem{{8, 15, `want a boolean expression, but its type is int`}}},
		{"type error in map", Header + "  input: {topics: [a]}\n  processors:\n    - map:\n        value: key * 2\n  outputs: [{topic: b}]\n",
			[]Problem{{9, 20, `spec.processors[0].map.value: invalid operation: * (mismatched types string and int)`}}},
		{"unknown name in a block scalar", Header + "  input: {topics: [a]}\n  processors:\n    - map:\n        value: |\n          {\n            \"lvl\": levle\n          }\n  outputs: [{topic: b}]\n",
			[]Problem{{11, 20, `unknown name levle`}}},
		{"route to an unknown output", Header + "  input: {topics: [a]}\n  processors:\n    - route:\n        - when: value.bad\n          to: erors\n        - to: rest\n  outputs:\n    - {name: errors, topic: e}\n    - {name: rest, topic: r}\n",
			[]Problem{{10, 15, `route to "erors": no output has that name (outputs: errors, rest) (did you mean "errors"?)`}}},
		{"regexp without named groups, bad regexp", Header + "  input: {topics: [a]}\n  processors:\n    - parse: {format: regexp, pattern: '(\\w+) (\\d+)'}\n    - parse: {format: regexp, pattern: '(?P<a>['}\n  outputs: [{topic: b}]\n",
			[]Problem{{8, 40, `the pattern has no named group`}, {9, 40, `bad regular expression`}}},
		{"unknown parse format", Header + "  input: {topics: [a]}\n  processors:\n    - parse: xml\n  outputs: [{topic: b}]\n",
			[]Problem{{8, 14, `unknown format "xml": want json, logfmt or regexp`}}},
		{"dead-letter without a topic", Header + "  input: {topics: [a]}\n  outputs: [{topic: b}]\n  onError: dead-letter\n",
			[]Problem{{8, 12, `dead-letter needs a topic: write onError: {dead-letter: <topic>}`}}},
		{"exactly-once with a connector output", Header + "  input: {topics: [a]}\n  outputs:\n    - connector: {plugin: file}\n  delivery: exactly-once\n",
			[]Problem{{9, 13, `exactly-once needs topics as input and as every output`}}},
		{"output is the input", Header + "  input: {topics: [a]}\n  outputs: [{topic: a}]\n  onError: {dead-letter: a}\n",
			[]Problem{{7, 21, `topic "a" is also an input: the pipeline would consume its own output`}, {8, 26, `topic "a" is also an input: failed records would be consumed again`}}},
		{"pipeline defined twice", Header + "  input: {topics: [a]}\n  outputs: [{topic: b}]\n---\n" + Header + "  input: {topics: [a]}\n  outputs: [{topic: c}]\n",
			[]Problem{{12, 9, `Pipeline "p" is already defined at f.yaml:4:9`}}},
		{"bad field paths", Header + "  input: {topics: [a]}\n  processors:\n    - set: {values.x: '1', headers: '2'}\n    - delete: [timestamp]\n  outputs: [{topic: b}]\n",
			[]Problem{{8, 13, `"values.x": want a field path starting with key, value, headers, timestamp`}, {8, 28, `"headers": name the header: headers.<name>`}, {9, 16, `"timestamp": want a field path starting with key, value, headers`}}},
		{"sample and dedupe settings", Header + "  input: {topics: [a]}\n  processors:\n    - sample: {rate: 1.5}\n    - dedupe: {window: soon}\n  outputs: [{topic: b}]\n",
			[]Problem{{8, 22, `spec.processors[0].sample.rate: 1.5 is out of range`}, {9, 15, `missing required field "key"`}, {9, 24, `want a duration such as 250ms, 10s or 1h, got the string "soon"`}}},
		{"parallelism and limits", Header + "  input: {topics: [a]}\n  outputs: [{topic: b}]\n  parallelism: 0\n  limits: {maxNodes: many, recordTimeout: -1s}\n",
			[]Problem{{8, 16, `spec.parallelism: 0 is out of range: want 1 to 256`}, {9, 22, `spec.limits.maxNodes: want an integer`}, {9, 43, `spec.limits.recordTimeout: must be positive`}}},
		{"expression too big", Header + "  input: {topics: [a]}\n  processors:\n    - filter: offset > 1 && offset > 2 && offset > 3\n  outputs: [{topic: b}]\n  limits: {maxNodes: 5}\n",
			[]Problem{{8, 15, `the expression is too big: more than 5 nodes (spec.limits.maxNodes)`}}},
		{"YAML syntax error", "apiVersion: tributary.io/v1\nkind: Topic\nmetadata:\n  name: [t\nspec: {}\n",
			[]Problem{{4, 1, `YAML syntax error`}}},
		{"connector without type, unknown field", "apiVersion: tributary.io/v1\nkind: Connector\nmetadata: {name: c}\nspec:\n  plugin: file\n  topicz: raw\n",
			[]Problem{{5, 3, `spec: missing required field "type"`}, {6, 3, `unknown field "topicz" (did you mean "topic"?)`}}},
		{"aliases", "apiVersion: tributary.io/v1\nkind: Topic\nmetadata: {name: t}\nspec:\n  config: &c {a: b}\n  partitions: *c\n",
			[]Problem{{6, 15, `YAML aliases (*c) are not supported`}}},
		{"a processor with two types", Header + "  input: {topics: [a]}\n  processors:\n    - filter: value.ok\n      map: {value: value}\n  outputs: [{topic: b}]\n",
			[]Problem{{9, 7, `one processor per list item: start "map" with its own '- '`}}},
	}
}
