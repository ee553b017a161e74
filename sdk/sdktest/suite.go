package sdktest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/sdk"
)

// InvalidConfig is a configuration the plugin must reject, and the fields
// that must appear among the problems (all of them, from one Validate call).
type InvalidConfig struct {
	Name   string
	Config map[string]string
	Fields []string
}

// SourceFixture is one fresh environment for a source: a valid config and a
// way to make records appear in the external system.
type SourceFixture struct {
	// Config is a valid configuration reading from this environment, starting
	// at the beginning of the data.
	Config map[string]string
	// Produce makes at least n more records available to read, in order. A
	// source that generates records on its own may leave it nil.
	Produce func(t *testing.T, n int)
}

// SourceSuite says how to exercise a source.
type SourceSuite struct {
	// Setup returns a fresh environment; it is called once per test and may
	// use t.TempDir and t.Cleanup.
	Setup func(t *testing.T) SourceFixture
	// Invalid lists plugin-specific bad configurations, beyond the generic
	// ones the suite derives from the spec.
	Invalid []InvalidConfig
	// Timeout bounds every wait for records; zero means 10s.
	Timeout time.Duration
}

// SinkFixture is one fresh environment for a sink.
type SinkFixture struct {
	// Config is a valid configuration writing into this environment.
	Config map[string]string
	// Written returns the values that durably reached the external system,
	// in the order written.
	Written func(t *testing.T) [][]byte
}

// SinkSuite says how to exercise a sink.
type SinkSuite struct {
	Setup   func(t *testing.T) SinkFixture
	Invalid []InvalidConfig
}

// RunSourceSuite runs the source conformance tests against target:
//   - spec: the declared config spec is sound and documents every field;
//   - validate: a valid config has no problems; unknown fields, every missing
//     required field and every unparsable typed value are all reported by one
//     call; the suite's Invalid cases report their fields;
//   - lifecycle: open at the start, read records in bounded batches, every
//     record has a position, Read honours its context's deadline, close;
//   - resume: reopening at the position of record k continues with record k+1,
//     with Commit (when the source is a Committer) in between.
func RunSourceSuite(t *testing.T, target Target, suite SourceSuite) {
	t.Helper()
	spec, ok := target.Spec(sdk.KindSource)
	if !ok {
		t.Fatal("the plugin has no source")
	}
	timeout := suite.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	produce := func(t *testing.T, fx SourceFixture, n int) {
		if fx.Produce != nil {
			fx.Produce(t, n)
		}
	}
	t.Run("spec", func(t *testing.T) { checkSpec(t, spec) })
	t.Run("validate", func(t *testing.T) {
		checkValidate(t, target, sdk.KindSource, spec, suite.Setup(t).Config, suite.Invalid)
	})
	t.Run("lifecycle", func(t *testing.T) {
		fx := suite.Setup(t)
		src := OpenSource(t, target, fx.Config, nil)
		defer closeSource(t, src)
		produce(t, fx, 7)
		// Batches of at most 3 exercise the limit; ReadN checks positions.
		recs := ReadN(t, src, 7, 3, timeout)
		for i := range recs {
			if recs[i].Size() == 0 {
				t.Errorf("record %d is empty", i)
			}
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_, err := src.Read(ctx, 1)
		expired := ctx.Err() != nil
		cancel()
		if took := time.Since(start); took > time.Second {
			t.Errorf("Read with a 100ms deadline returned after %v", took)
		}
		if err != nil && !expired {
			t.Errorf("Read: %v", err)
		}
	})
	t.Run("resume", func(t *testing.T) {
		fx := suite.Setup(t)
		src := OpenSource(t, target, fx.Config, nil)
		produce(t, fx, 10)
		first := ReadN(t, src, 10, 4, timeout)
		if c, ok := src.(sdk.Committer); ok {
			positions := make([]sdk.Position, 4)
			for i := range positions {
				positions[i] = first[i].Position
			}
			if err := c.Commit(context.Background(), positions); err != nil {
				t.Fatalf("commit: %v", err)
			}
		}
		closeSource(t, src)
		for _, k := range []int{3, 0, 8} {
			src := OpenSource(t, target, fx.Config, first[k].Position)
			got := ReadN(t, src, 10-k-1, 0, timeout)
			closeSource(t, src)
			for i, r := range got {
				if want := first[k+1+i]; !sameRecord(r, want) {
					t.Fatalf("reopened after record %d: record %d is %q, want %q", k, i, r.Value, want.Value)
				}
			}
		}
		// Reopened at the newest position, the source continues with new
		// records only.
		src = OpenSource(t, target, fx.Config, first[9].Position)
		defer closeSource(t, src)
		produce(t, fx, 2)
		next := ReadN(t, src, 2, 0, timeout)
		if fx.Produce != nil {
			for _, r := range next {
				for _, old := range first {
					if bytes.Equal(r.Position, old.Position) {
						t.Fatalf("reopened at the newest position, the source re-read %q", r.Value)
					}
				}
			}
		}
	})
}

// RunSinkSuite runs the sink conformance tests against target:
//   - spec and validate as for sources;
//   - write/flush: batches written and flushed reach the external system in
//     order;
//   - reopen: after a close without flush and a reopen, records written and
//     flushed by the new instance also arrive, and earlier flushed ones stay.
func RunSinkSuite(t *testing.T, target Target, suite SinkSuite) {
	t.Helper()
	spec, ok := target.Spec(sdk.KindSink)
	if !ok {
		t.Fatal("the plugin has no sink")
	}
	t.Run("spec", func(t *testing.T) { checkSpec(t, spec) })
	t.Run("validate", func(t *testing.T) {
		checkValidate(t, target, sdk.KindSink, spec, suite.Setup(t).Config, suite.Invalid)
	})
	t.Run("write-flush", func(t *testing.T) {
		fx := suite.Setup(t)
		sink := OpenSink(t, target, fx.Config)
		defer closeSink(t, sink)
		want := writeBatches(t, sink, "a", 3, 5)
		if err := sink.Flush(context.Background()); err != nil {
			t.Fatalf("flush: %v", err)
		}
		checkContainsInOrder(t, fx.Written(t), want)
		// Flushing with nothing new is allowed and harmless.
		if err := sink.Flush(context.Background()); err != nil {
			t.Fatalf("second flush: %v", err)
		}
	})
	t.Run("reopen", func(t *testing.T) {
		fx := suite.Setup(t)
		sink := OpenSink(t, target, fx.Config)
		flushed := writeBatches(t, sink, "b", 2, 3)
		if err := sink.Flush(context.Background()); err != nil {
			t.Fatalf("flush: %v", err)
		}
		writeBatches(t, sink, "lost-or-kept", 1, 2)
		closeSink(t, sink)
		sink = OpenSink(t, target, fx.Config)
		defer closeSink(t, sink)
		more := writeBatches(t, sink, "c", 2, 3)
		if err := sink.Flush(context.Background()); err != nil {
			t.Fatalf("flush after reopen: %v", err)
		}
		written := fx.Written(t)
		checkContainsInOrder(t, written, flushed)
		checkContainsInOrder(t, written, more)
	})
}

func writeBatches(t *testing.T, sink sdk.Sink, prefix string, batches, size int) [][]byte {
	t.Helper()
	var all [][]byte
	for b := 0; b < batches; b++ {
		recs := make([]sdk.Record, size)
		for i := range recs {
			v := fmt.Appendf(nil, "%s-%d-%d", prefix, b, i)
			recs[i] = sdk.Record{Key: []byte(prefix), Value: v, Topic: "sdktest", Partition: 0, Offset: int64(b*size + i),
				Timestamp: time.UnixMilli(1_700_000_000_000 + int64(b*size+i)), Headers: []sdk.Header{{Key: "h", Value: []byte("v")}}}
			all = append(all, v)
		}
		if err := sink.Write(context.Background(), recs); err != nil {
			t.Fatalf("write batch %d: %v", b, err)
		}
	}
	return all
}

// checkContainsInOrder checks that want appears in got as a subsequence:
// at-least-once sinks may repeat records but not lose or reorder them.
func checkContainsInOrder(t *testing.T, got, want [][]byte) {
	t.Helper()
	i := 0
	for _, g := range got {
		if i < len(want) && bytes.Equal(g, want[i]) {
			i++
		}
	}
	if i < len(want) {
		t.Fatalf("the sink's output lacks %q (in order) among %d records written", want[i], len(got))
	}
}

func sameRecord(a, b sdk.Record) bool {
	return bytes.Equal(a.Key, b.Key) && bytes.Equal(a.Value, b.Value) && bytes.Equal(a.Position, b.Position)
}

func closeSource(t *testing.T, src sdk.Source) {
	t.Helper()
	if err := src.Close(); err != nil {
		t.Errorf("close source: %v", err)
	}
}

func closeSink(t *testing.T, sink sdk.Sink) {
	t.Helper()
	if err := sink.Close(); err != nil {
		t.Errorf("close sink: %v", err)
	}
}

func checkSpec(t *testing.T, spec sdk.ConfigSpec) {
	if err := spec.Check(); err != nil {
		t.Fatalf("config spec: %v", err)
	}
	md := spec.Markdown()
	for _, f := range spec.Fields {
		if !strings.Contains(md, "`"+f.Name+"`") {
			t.Errorf("the docs do not mention %s", f.Name)
		}
	}
}

// garbage is a value of each type that cannot parse.
var garbage = map[sdk.FieldType]string{
	sdk.Int:      "not-a-number",
	sdk.Bool:     "maybe",
	sdk.Duration: "soon",
	sdk.Bytes:    "lots",
}

func checkValidate(t *testing.T, target Target, kind sdk.Kind, spec sdk.ConfigSpec, valid map[string]string, extra []InvalidConfig) {
	ctx := context.Background()
	problems, err := target.Validate(ctx, kind, valid)
	if err != nil {
		t.Fatalf("validate: %v", err)
	}
	if len(problems) > 0 {
		t.Fatalf("the fixture's config is invalid: %v", problems)
	}
	cases := []InvalidConfig{{Name: "unknown field", Config: with(valid, map[string]string{"sdktest.no.such.field": "x"}), Fields: []string{"sdktest.no.such.field"}}}
	// Every required field missing at once, and every typed field unparsable
	// at once, plus an unknown field: one call must report all of them.
	all := InvalidConfig{Name: "every generic problem at once", Config: map[string]string{"sdktest.no.such.field": "x"}, Fields: []string{"sdktest.no.such.field"}}
	for _, f := range spec.Fields {
		switch {
		case f.Required:
			all.Fields = append(all.Fields, f.Name)
		case garbage[f.Type] != "":
			all.Config[f.Name] = garbage[f.Type]
			all.Fields = append(all.Fields, f.Name)
		}
	}
	cases = append(cases, all)
	for _, f := range spec.Fields {
		if f.Required {
			cases = append(cases, InvalidConfig{Name: "missing " + f.Name, Config: without(valid, f.Name), Fields: []string{f.Name}})
		}
	}
	cases = append(cases, extra...)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			problems, err := target.Validate(ctx, kind, c.Config)
			if err != nil {
				t.Fatalf("validate: %v", err)
			}
			reported := map[string]bool{}
			for _, p := range problems {
				if p.Reason == "" {
					t.Errorf("problem for %s has no reason", p.Field)
				}
				reported[p.Field] = true
			}
			for _, f := range c.Fields {
				if !reported[f] {
					t.Errorf("no problem reported for %s; problems: %v", f, problems)
				}
			}
			if len(problems) == 0 {
				t.Error("the config was accepted")
			}
		})
	}
}

func with(base, extra map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(extra))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

func without(base map[string]string, key string) map[string]string {
	out := with(base, nil)
	delete(out, key)
	return out
}
