package runner

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/pipelines/process"
	"github.com/tributary-io/tributary/pipelines/spec"
)

func load(t *testing.T, src string) (*spec.Pipeline, *process.Program) {
	t.Helper()
	ms, probs := spec.Parse("p.yaml", []byte(src))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	prog, probs := process.Compile(ms[0].Name, ms[0].Pipeline)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	return ms[0].Pipeline, prog
}

const routed = `apiVersion: tributary.io/v1
kind: Pipeline
metadata: {name: logs}
spec:
  input: {topics: [raw]}
  processors:
    - filter: value.latency > 100
    - map: {value: '{"lvl": value.level, "ms": value.latency}'}
    - route:
        - {when: value.lvl == "error", to: errors}
        - {when: value.lvl == "warn", to: [errors, rest]}
        - {when: value.lvl == "info", to: rest}
  outputs:
    - {name: errors, topic: out-errors}
    - {name: rest, topic: out-rest}
`

func records(values ...string) []*kgo.Record {
	out := make([]*kgo.Record, len(values))
	for i, v := range values {
		out[i] = &kgo.Record{
			Topic: "raw", Partition: 2, Offset: int64(10 + i), Key: []byte("k"), Value: []byte(v),
			Headers:   []kgo.RecordHeader{{Key: "trace", Value: []byte("t1")}},
			Timestamp: time.UnixMilli(1_700_000_000_000 + int64(i)),
		}
	}
	return out
}

func TestOfflineRouting(t *testing.T) {
	p, prog := load(t, routed)
	in := records(
		`{"level":"error","latency":500}`,
		`{"level":"info","latency":50}`,
		`{"level":"warn","latency":150}`,
		`{"level":"debug","latency":900}`,
		`{"level":"info","latency":101}`,
	)
	out, stats, err := Offline("logs", p, prog, in)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ topic, value string }{
		{"out-errors", `{"lvl":"error","ms":500}`},
		{"out-errors", `{"lvl":"warn","ms":150}`},
		{"out-rest", `{"lvl":"warn","ms":150}`},
		{"out-rest", `{"lvl":"info","ms":101}`},
	}
	if len(out) != len(want) {
		t.Fatalf("got %d records, want %d", len(out), len(want))
	}
	for i, w := range want {
		r := out[i]
		if r.Topic != w.topic || string(r.Value) != w.value || string(r.Key) != "k" || len(r.Headers) != 1 {
			t.Errorf("record %d = %s %s key %s headers %v; want %s %s", i, r.Topic, r.Value, r.Key, r.Headers, w.topic, w.value)
		}
	}
	if !out[0].Timestamp.Equal(in[0].Timestamp) {
		t.Errorf("timestamp %v, want the input's %v", out[0].Timestamp, in[0].Timestamp)
	}
	wantStats := Stats{In: 5, Out: 4, Filtered: 2, Batches: 1}
	if stats != wantStats {
		t.Errorf("stats = %+v, want %+v", stats, wantStats)
	}
}

const failing = `apiVersion: tributary.io/v1
kind: Pipeline
metadata: {name: fragile}
spec:
  input: {topics: [raw]}
  processors:
    - map: {value: 'value.n * 2'}
  outputs: [{topic: out}]
`

func TestOfflineErrorActions(t *testing.T) {
	in := records(`{"n": 1}`, `{"n": "x"}`, `{"n": 3}`)
	t.Run("dead-letter", func(t *testing.T) {
		p, prog := load(t, failing+"  onError: {dead-letter: dlq}\n")
		out, stats, err := Offline("fragile", p, prog, in)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != 3 || out[0].Topic != "out" || out[1].Topic != "dlq" || out[2].Topic != "out" || string(out[2].Value) != "6" {
			t.Fatalf("outputs: %v", topicsOf(out))
		}
		dl := out[1]
		if string(dl.Value) != `{"n": "x"}` || string(dl.Key) != "k" || !dl.Timestamp.Equal(in[1].Timestamp) {
			t.Errorf("the dead letter is not the input record: %s %s %v", dl.Key, dl.Value, dl.Timestamp)
		}
		h := map[string]string{}
		for _, x := range dl.Headers {
			h[x.Key] = string(x.Value)
		}
		wantHeaders := map[string]string{
			"trace": "t1", HeaderPipeline: "fragile", HeaderTopic: "raw", HeaderPartition: "2", HeaderOffset: "11",
			HeaderProcessor: "0 map",
		}
		for k, v := range wantHeaders {
			if h[k] != v {
				t.Errorf("header %s = %q, want %q", k, h[k], v)
			}
		}
		if e := h[HeaderError]; !strings.Contains(e, "processor 0 (map at p.yaml:7:7): value: invalid operation: string * int") {
			t.Errorf("error header = %q", e)
		}
		if stats.Errors != 1 || stats.DeadLettered != 1 || stats.Out != 2 || stats.In != 3 {
			t.Errorf("stats = %+v", stats)
		}
	})
	t.Run("drop", func(t *testing.T) {
		p, prog := load(t, failing+"  onError: drop\n")
		out, stats, err := Offline("fragile", p, prog, in)
		if err != nil || len(out) != 2 || stats.Errors != 1 || stats.DeadLettered != 0 {
			t.Fatalf("out %v stats %+v err %v", topicsOf(out), stats, err)
		}
	})
	t.Run("stop", func(t *testing.T) {
		p, prog := load(t, failing)
		out, stats, err := Offline("fragile", p, prog, in)
		if !errors.Is(err, ErrStopped) || !strings.Contains(err.Error(), "record raw[2]@11") {
			t.Fatalf("err = %v, want ErrStopped at raw[2]@11", err)
		}
		if len(out) != 1 || stats.In != 2 || stats.Errors != 1 {
			t.Fatalf("out %v stats %+v", topicsOf(out), stats)
		}
	})
}

func topicsOf(rs []*kgo.Record) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Topic)
	}
	return out
}

func TestConfigValidate(t *testing.T) {
	p, prog := load(t, routed)
	cp, cprog := load(t, "apiVersion: tributary.io/v1\nkind: Pipeline\nmetadata: {name: c}\nspec:\n  input: {connector: {plugin: file}}\n  outputs: [{topic: b}]\n")
	cases := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"valid", Config{Name: "logs", Spec: p, Program: prog, Seeds: []string{"127.0.0.1:9092"}}, nil},
		{"connector input", Config{Name: "c", Spec: cp, Program: cprog, Seeds: []string{"x"}}, []string{"connector inputs and outputs run on workers"}},
		{"empty", Config{MaxPollRecords: -1, SessionTimeout: -time.Second, InstanceID: "a b"},
			[]string{"Name is empty", "Spec and Program are required", `InstanceID "a b"`, "Seeds is empty", "MaxPollRecords = -1", "SessionTimeout = -1s"}},
	}
	for _, c := range cases {
		_, err := New(c.cfg)
		if len(c.want) == 0 {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: err = %v, want it to say %q", c.name, err, w)
			}
		}
	}
	if _, err := New(cases[1].cfg); !errors.Is(err, ErrConnectorsNotSupported) {
		t.Errorf("connector pipeline: %v, want ErrConnectorsNotSupported", err)
	}
	if Group("x") != "tributary-pipeline-x" {
		t.Error(Group("x"))
	}
}

func TestLagTracker(t *testing.T) {
	l := newLagTracker()
	fetch := func(topic string, partition int32, lso, hwm int64, offsets ...int64) kgo.Fetches {
		p := kgo.FetchPartition{Partition: partition, LastStableOffset: lso, HighWatermark: hwm}
		for _, o := range offsets {
			p.Records = append(p.Records, &kgo.Record{Topic: topic, Partition: partition, Offset: o})
		}
		return kgo.Fetches{{Topics: []kgo.FetchTopic{{Topic: topic, Partitions: []kgo.FetchPartition{p}}}}}
	}
	l.observe(fetch("a", 0, 100, 120, 10, 11)) // 88 behind the stable end
	l.observe(fetch("a", 1, -1, 50, 39))       // no stable offset: the high watermark
	l.observe(fetch("b", 0, 5, 5))             // no records: no news
	l.observe(fetch("a", 0, 100, 120, 98, 99)) // caught up
	if got := l.total(); got != 10 {
		t.Fatalf("lag = %d, want 0 + 10", got)
	}
	l.forget(context.Background(), nil, map[string][]int32{"a": {1}})
	if got := l.total(); got != 0 {
		t.Fatalf("lag after revoking a[1] = %d, want 0", got)
	}
}
