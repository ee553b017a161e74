package sdktest

import (
	"context"
	"fmt"
	"time"

	"github.com/tributary-io/tributary/sdk"
)

// Target is a plugin the suites drive: in-process (Local) or behind the host.
type Target interface {
	// Spec returns the config spec of kind, or false when the plugin has no
	// such kind.
	Spec(kind sdk.Kind) (sdk.ConfigSpec, bool)
	// Validate returns every problem of raw as a configuration of kind.
	Validate(ctx context.Context, kind sdk.Kind, raw map[string]string) ([]sdk.Problem, error)
	// NewSource returns an unopened source instance.
	NewSource() (sdk.Source, error)
	// NewSink returns an unopened sink instance.
	NewSink() (sdk.Sink, error)
}

// Local runs p in this process. Validate applies the plugin's spec and
// Validate hook exactly as the SDK's server does; OpenSource and OpenSink
// refuse a configuration Validate rejects, as the host does.
func Local(p sdk.Plugin) Target { return &local{p: p} }

type local struct{ p sdk.Plugin }

func (l *local) Spec(kind sdk.Kind) (sdk.ConfigSpec, bool) { return l.p.Spec(kind) }

func (l *local) Validate(_ context.Context, kind sdk.Kind, raw map[string]string) ([]sdk.Problem, error) {
	if _, ok := l.p.Spec(kind); !ok {
		return nil, fmt.Errorf("plugin %s has no %s", l.p.Name, kind)
	}
	_, err := l.p.ParseConfig(kind, raw)
	return sdk.Problems(err), nil
}

func (l *local) NewSource() (sdk.Source, error) {
	if l.p.Source == nil {
		return nil, fmt.Errorf("plugin %s has no source", l.p.Name)
	}
	return l.p.Source.New(sdk.Env{Logger: testLogger()}), nil
}

func (l *local) NewSink() (sdk.Sink, error) {
	if l.p.Sink == nil {
		return nil, fmt.Errorf("plugin %s has no sink", l.p.Name)
	}
	return l.p.Sink.New(sdk.Env{Logger: testLogger()}), nil
}

// OpenSource creates a source of target, validates raw and opens it at pos.
// The caller closes it.
func OpenSource(t TB, target Target, raw map[string]string, pos sdk.Position) sdk.Source {
	t.Helper()
	src, err := target.NewSource()
	if err != nil {
		t.Fatalf("new source: %v", err)
	}
	cfg := parse(t, target, sdk.KindSource, raw)
	if err := src.Open(context.Background(), cfg, pos); err != nil {
		_ = src.Close()
		t.Fatalf("open source: %v", err)
	}
	return src
}

// OpenSink creates a sink of target, validates raw and opens it. The caller
// closes it.
func OpenSink(t TB, target Target, raw map[string]string) sdk.Sink {
	t.Helper()
	sink, err := target.NewSink()
	if err != nil {
		t.Fatalf("new sink: %v", err)
	}
	cfg := parse(t, target, sdk.KindSink, raw)
	if err := sink.Open(context.Background(), cfg); err != nil {
		_ = sink.Close()
		t.Fatalf("open sink: %v", err)
	}
	return sink
}

func parse(t TB, target Target, kind sdk.Kind, raw map[string]string) sdk.Config {
	t.Helper()
	problems, err := target.Validate(context.Background(), kind, raw)
	if err != nil {
		t.Fatalf("validate %s config: %v", kind, err)
	}
	if len(problems) > 0 {
		t.Fatalf("%s config %v is invalid: %v", kind, raw, (&sdk.ValidationError{Problems: problems}).Error())
	}
	spec, _ := target.Spec(kind)
	cfg, err := spec.Parse(raw)
	if err != nil {
		t.Fatalf("parse %s config: %v", kind, err)
	}
	return cfg
}

// ReadN reads from src until it has n records or timeout passes, asking for
// at most max records per call (0 means n). It fails the test on a read
// error, on a batch larger than asked for, on a record without a position,
// and when fewer than n records arrive in time.
func ReadN(t TB, src sdk.Source, n, max int, timeout time.Duration) []sdk.Record {
	t.Helper()
	if max <= 0 {
		max = n
	}
	var out []sdk.Record
	deadline := time.Now().Add(timeout)
	for len(out) < n && time.Now().Before(deadline) {
		ask := min(max, n-len(out))
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		recs, err := src.Read(ctx, ask)
		expired := ctx.Err() != nil
		cancel()
		if err != nil && !(expired && len(recs) == 0) {
			t.Fatalf("read after %d records: %v", len(out), err)
		}
		if len(recs) > ask {
			t.Fatalf("read returned %d records, asked for at most %d", len(recs), ask)
		}
		for i := range recs {
			if len(recs[i].Position) == 0 {
				t.Fatalf("record %d has no position", len(out)+i)
			}
		}
		out = append(out, recs...)
	}
	if len(out) < n {
		t.Fatalf("read %d records in %v, want %d", len(out), timeout, n)
	}
	return out
}

// TB is the part of testing.TB the helpers use, so they also run inside
// benchmarks and from other harnesses.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}
