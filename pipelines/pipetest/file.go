package pipetest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tributary-io/tributary/pipelines/process"
)

// File is a test file: which pipeline to test and its cases.
type File struct {
	// Pipeline is the manifest file holding the pipeline, relative to the
	// test file.
	Pipeline string `yaml:"pipeline"`
	// Name picks the pipeline when the manifest file has several.
	Name  string `yaml:"name"`
	Cases []Case `yaml:"cases"`

	path string
}

// Case is one test: input records and the records expected on each output
// topic (the dead-letter topic included).
type Case struct {
	Name string `yaml:"name"`
	// Input is a list of records, or the path of a file of records: JSON
	// lines (.jsonl, .ndjson), or a YAML list (.yaml, .yml).
	Input yaml.Node `yaml:"input"`
	// Expect maps each topic the pipeline writes to (for a connector
	// output, the output's name) to the records it must hold, in order: a
	// list, or the path of a file like Input's. A topic written to but not
	// listed is a failure; list it as [] to expect nothing.
	Expect yaml.Node `yaml:"expect"`
	// ExpectError, when set, expects the pipeline to stop (onError: stop)
	// with an error containing this text.
	ExpectError string `yaml:"expectError"`

	line int
}

// Record is an input or expected record. In expectations, only the fields
// given are compared.
type Record struct {
	// Key is the key as text; nil for none.
	Key *string
	// Value is text (a string) or structured data written as JSON; nil with
	// ValueGiven is a null value.
	Value      any
	ValueGiven bool
	Headers    map[string]string
	Timestamp  *time.Time
	// Topic, Partition and Offset place an input record; they default to
	// the pipeline's first input topic, 0 and the record's place in the
	// input.
	Topic     string
	Partition int32
	Offset    *int64

	where string // file:line, for messages
}

// recordFields is a record as written in YAML or JSON.
type recordFields struct {
	Key       any               `yaml:"key" json:"key"`
	Value     any               `yaml:"value" json:"value"`
	Headers   map[string]string `yaml:"headers" json:"headers"`
	Timestamp *time.Time        `yaml:"timestamp" json:"timestamp"`
	Topic     string            `yaml:"topic" json:"topic"`
	Partition int32             `yaml:"partition" json:"partition"`
	Offset    *int64            `yaml:"offset" json:"offset"`
}

// ReadFile reads and checks a test file.
func ReadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read test file: %w", err)
	}
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.path = path
	var errs []error
	if f.Pipeline == "" {
		errs = append(errs, fmt.Errorf("%s: missing pipeline: the manifest file to test, relative to the test file", path))
	}
	if len(f.Cases) == 0 {
		errs = append(errs, fmt.Errorf("%s: no cases", path))
	}
	return &f, errors.Join(errs...)
}

// rel resolves a path written in the test file.
func (f *File) rel(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(f.path), p)
}

// records reads a list of records from n: inline, or a file path.
func (f *File) records(n *yaml.Node) ([]Record, error) {
	where := func(line int) string { return fmt.Sprintf("%s:%d", f.path, line) }
	switch n.Kind {
	case 0:
		return nil, nil
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return nil, nil
		}
		return readRecordFile(f.rel(n.Value))
	case yaml.SequenceNode:
		out := make([]Record, 0, len(n.Content))
		for _, item := range n.Content {
			var rf recordFields
			if err := decodeStrict(item, &rf); err != nil {
				return nil, fmt.Errorf("%s: %w", where(item.Line), err)
			}
			r, err := rf.record(where(item.Line), item)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: want a list of records or a file name", where(n.Line))
}

// decodeStrict decodes a node, refusing unknown fields.
func decodeStrict(n *yaml.Node, v any) error {
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	return dec.Decode(v)
}

// record converts the decoded fields; node, when set, tells whether value
// was given at all.
func (rf recordFields) record(where string, node *yaml.Node) (Record, error) {
	r := Record{Headers: rf.Headers, Timestamp: rf.Timestamp, Topic: rf.Topic, Partition: rf.Partition, Offset: rf.Offset, where: where}
	switch k := rf.Key.(type) {
	case nil:
	case string:
		r.Key = &k
	default:
		b, err := process.EncodeValue(k)
		if err != nil {
			return r, fmt.Errorf("%s: key: %w", where, err)
		}
		s := string(b)
		r.Key = &s
	}
	r.Value = rf.Value
	if node != nil {
		for i := 0; i+1 < len(node.Content); i += 2 {
			if node.Content[i].Value == "value" {
				r.ValueGiven = true
			}
		}
	}
	return r, nil
}

// readRecordFile reads records from JSON lines or a YAML list.
func readRecordFile(path string) ([]Record, error) {
	ext := strings.ToLower(filepath.Ext(path))
	switch ext {
	case ".yaml", ".yml", ".jsonl", ".ndjson":
	default:
		return nil, fmt.Errorf("%s: want a .jsonl, .ndjson, .yaml or .yml file of records", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read records: %w", err)
	}
	if ext == ".yaml" || ext == ".yml" {
		var n yaml.Node
		if err := yaml.Unmarshal(data, &n); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(n.Content) == 0 {
			return nil, nil
		}
		sub := &File{path: path}
		return sub.records(n.Content[0])
	}
	var out []Record
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		where := fmt.Sprintf("%s:%d", path, line)
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(text, &raw); err != nil {
			return nil, fmt.Errorf("%s: want a JSON object {\"key\":..., \"value\":..., \"headers\":{...}}: %w", where, err)
		}
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.DisallowUnknownFields()
		var rf recordFields
		if err := dec.Decode(&rf); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		r, err := rf.record(where, nil)
		if err != nil {
			return nil, err
		}
		if v, ok := raw["value"]; ok {
			r.ValueGiven = true
			if r.Value, err = process.ParseJSON(v); err != nil {
				return nil, fmt.Errorf("%s: value: %w", where, err)
			}
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// valueBytes is how a record's value is written: text as is, null as a
// null value, anything else as JSON.
func (r Record) valueBytes() ([]byte, error) {
	if !r.ValueGiven || r.Value == nil {
		return nil, nil
	}
	return process.EncodeValue(jsonable(r.Value))
}

// jsonable turns YAML's decoded maps (map[string]any, but also
// map[any]any for non-string keys) into what encoding/json takes.
func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonable(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = jsonable(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonable(e)
		}
		return out
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	return v
}
