package pipetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"gopkg.in/yaml.v3"

	"github.com/tributary-io/tributary/pipelines"
	"github.com/tributary-io/tributary/pipelines/process"
	"github.com/tributary-io/tributary/pipelines/runner"
	"github.com/tributary-io/tributary/pipelines/spec"
)

// Result is the outcome of one test file.
type Result struct {
	Passed, Failed int
}

// Run runs every case of the test file at path against its pipeline,
// offline, writing a line per case and a readable diff for each failure to
// w. It returns an error when the files cannot be read or the pipeline does
// not validate; failed cases are counted in the Result.
func Run(ctx context.Context, path string, w io.Writer) (Result, error) {
	var res Result
	f, err := ReadFile(path)
	if err != nil {
		return res, err
	}
	b, probs := pipelines.Load(ctx, []string{f.rel(f.Pipeline)}, pipelines.Options{})
	if len(probs) > 0 {
		return res, fmt.Errorf("the pipeline does not validate:\n%w", probs)
	}
	m, prog, err := b.Pipeline(f.Name)
	if err != nil {
		return res, err
	}
	for i := range f.Cases {
		c := &f.Cases[i]
		name := c.Name
		if name == "" {
			name = fmt.Sprintf("case %d", i+1)
		}
		report, err := f.runCase(c, m, prog)
		if err != nil {
			return res, fmt.Errorf("%s: %w", name, err)
		}
		if report == "" {
			res.Passed++
			fmt.Fprintf(w, "PASS  %s / %s\n", m.Name, name)
			continue
		}
		res.Failed++
		fmt.Fprintf(w, "FAIL  %s / %s (%s:%d)\n%s", m.Name, name, f.path, c.Input.Line, report)
	}
	return res, nil
}

// runCase runs one case and returns its diff, empty when it passed.
func (f *File) runCase(c *Case, m *spec.Manifest, prog *process.Program) (string, error) {
	in, err := f.records(&c.Input)
	if err != nil {
		return "", fmt.Errorf("input: %w", err)
	}
	expect, order, err := f.expectations(&c.Expect)
	if err != nil {
		return "", fmt.Errorf("expect: %w", err)
	}
	recs, err := inputRecords(in, m.Pipeline)
	if err != nil {
		return "", err
	}
	out, _, runErr := runner.Offline(m.Name, m.Pipeline, prog, recs)
	var b strings.Builder
	switch {
	case runErr != nil && c.ExpectError == "":
		fmt.Fprintf(&b, "    the pipeline stopped: %v\n", runErr)
		return b.String(), nil
	case runErr == nil && c.ExpectError != "":
		fmt.Fprintf(&b, "    want the pipeline to stop with an error containing %q; it did not stop\n", c.ExpectError)
	case runErr != nil:
		if !strings.Contains(runErr.Error(), c.ExpectError) {
			fmt.Fprintf(&b, "    want an error containing %q, got: %v\n", c.ExpectError, runErr)
		}
		return b.String(), nil // on stop nothing of the batch is committed
	}
	got := map[string][]*kgo.Record{}
	for _, r := range out {
		if _, ok := got[r.Topic]; !ok && !slices.Contains(order, r.Topic) {
			order = append(order, r.Topic)
		}
		got[r.Topic] = append(got[r.Topic], r)
	}
	for _, topic := range order {
		want, listed := expect[topic]
		if !listed {
			fmt.Fprintf(&b, "    topic %s: %d record(s) not in expect (list the topic, or [] for none):\n", topic, len(got[topic]))
			for _, r := range got[topic] {
				fmt.Fprintf(&b, "      + %s\n", render(r, Record{ValueGiven: true, Key: keyOf(r), Headers: headersOf(r)}))
			}
			continue
		}
		if d := diff(want, got[topic]); d != "" {
			fmt.Fprintf(&b, "    topic %s:\n%s", topic, d)
		}
	}
	return b.String(), nil
}

// expectations reads expect: topic -> records, keeping the topics' order.
func (f *File) expectations(n *yaml.Node) (map[string][]Record, []string, error) {
	out := map[string][]Record{}
	var order []string
	if n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null") {
		return out, nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("%s:%d: want a mapping of topics to records", f.path, n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		topic := n.Content[i].Value
		recs, err := f.records(n.Content[i+1])
		if err != nil {
			return nil, nil, fmt.Errorf("topic %s: %w", topic, err)
		}
		out[topic] = recs
		order = append(order, topic)
	}
	return out, order, nil
}

// inputRecords turns input records into what a consumer would poll.
func inputRecords(in []Record, p *spec.Pipeline) ([]*kgo.Record, error) {
	defTopic := ""
	if len(p.Input.Topics) > 0 {
		defTopic = p.Input.Topics[0].Name
	}
	next := map[string]int64{} // next offset per topic-partition
	out := make([]*kgo.Record, 0, len(in))
	for _, r := range in {
		val, err := r.valueBytes()
		if err != nil {
			return nil, fmt.Errorf("%s: value: %w", r.where, err)
		}
		rec := &kgo.Record{Topic: r.Topic, Partition: r.Partition, Value: val}
		if rec.Topic == "" {
			rec.Topic = defTopic
		}
		tp := rec.Topic + "/" + strconv.Itoa(int(rec.Partition))
		rec.Offset = next[tp]
		if r.Offset != nil {
			rec.Offset = *r.Offset
		}
		next[tp] = rec.Offset + 1
		// Without a timestamp, a record is as many milliseconds after the
		// epoch as its offset: windows (dedupe) then see records close
		// together, in order.
		rec.Timestamp = time.UnixMilli(rec.Offset).UTC()
		if r.Timestamp != nil {
			rec.Timestamp = *r.Timestamp
		}
		if r.Key != nil {
			rec.Key = []byte(*r.Key)
		}
		for _, k := range sortedKeys(r.Headers) {
			rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: k, Value: []byte(r.Headers[k])})
		}
		out = append(out, rec)
	}
	return out, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func keyOf(r *kgo.Record) *string {
	if r.Key == nil {
		return nil
	}
	s := string(r.Key)
	return &s
}

func headersOf(r *kgo.Record) map[string]string {
	if len(r.Headers) == 0 {
		return nil
	}
	h := make(map[string]string, len(r.Headers))
	for _, x := range r.Headers {
		h[x.Key] = string(x.Value)
	}
	return h
}

// matches reports whether the produced record r has every field want gives.
func matches(want Record, r *kgo.Record) bool {
	if want.Key != nil && (r.Key == nil || string(r.Key) != *want.Key) {
		return false
	}
	if want.ValueGiven && !sameValue(want.Value, r.Value) {
		return false
	}
	if want.Headers != nil && !reflect.DeepEqual(want.Headers, headersOf(r)) {
		if !(len(want.Headers) == 0 && len(r.Headers) == 0) {
			return false
		}
	}
	if want.Timestamp != nil && !want.Timestamp.Equal(r.Timestamp) {
		return false
	}
	return true
}

// sameValue compares an expected value with produced bytes: text exactly,
// structured data as JSON (key order and number spelling do not matter).
func sameValue(want any, got []byte) bool {
	switch w := want.(type) {
	case nil:
		return got == nil
	case string:
		return got != nil && string(got) == w
	}
	wb, err := process.EncodeValue(jsonable(want))
	if err != nil {
		return false
	}
	wv, err1 := process.ParseJSON(wb)
	gv, err2 := process.ParseJSON(got)
	return errors.Join(err1, err2) == nil && reflect.DeepEqual(wv, gv)
}
