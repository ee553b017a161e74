package e2e

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/pipelines"
	"github.com/tributary-io/tributary/pipelines/runner"
)

// load validates manifests given as text and returns the named pipeline's
// runner config.
func load(t testing.TB, addr, src, name string) runner.Config {
	t.Helper()
	b, probs := pipelines.LoadBytes(context.Background(), "pipeline.yaml", []byte(src), pipelines.Options{})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	m, prog, err := b.Pipeline(name)
	if err != nil {
		t.Fatal(err)
	}
	return runner.Config{
		Name: m.Name, Spec: m.Pipeline, Program: prog, Seeds: []string{addr}, InstanceID: "test",
		Logger:         slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
		SessionTimeout: 10 * time.Second,
	}
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// running is a Runner running on its own goroutine.
type running struct {
	r      *runner.Runner
	cancel context.CancelFunc
	done   chan error
}

func run(t testing.TB, cfg runner.Config) *running {
	t.Helper()
	r, err := runner.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rn := &running{r: r, cancel: cancel, done: make(chan error, 1)}
	go func() { rn.done <- r.Run(ctx) }()
	t.Cleanup(func() { rn.stop(t) })
	return rn
}

// stop cancels the runner and returns Run's result; it may be called twice.
func (rn *running) stop(t testing.TB) error {
	t.Helper()
	rn.cancel()
	select {
	case err, ok := <-rn.done:
		if ok {
			close(rn.done)
		}
		return err
	case <-time.After(time.Minute):
		t.Fatal("the runner did not stop within a minute")
		return nil
	}
}

const logsPipeline = `apiVersion: tributary.io/v1
kind: Pipeline
metadata: {name: logs-e2e}
spec:
  input: {topics: [e2e-raw]}
  processors:
    - parse: json
    - filter: value.level in ["error", "warn"] && value.latency_ms >= 100
    - map:
        key: value.service
        value: '{"service": value.service, "level": value.level, "latency_ms": value.latency_ms}'
    - route:
        - when: value.level == "error"
          to: errors
        - to: rest
  outputs:
    - {name: errors, topic: e2e-errors}
    - {name: rest, topic: e2e-rest}
  parallelism: 2
`

var levels = []string{"debug", "info", "warn", "error"}

// logLine is input record i and what the pipeline must make of it: the
// topic it goes to ("" for filtered) and the value.
func logLine(i int) (line, topic, want string) {
	level, latency, service := levels[i%4], (i*37)%300, fmt.Sprintf("svc-%d", i%5)
	line = fmt.Sprintf(`{"ts":"2024-05-01T10:00:%02dZ","service":%q,"level":%q,"latency_ms":%d,"msg":"request %d handled","path":"/api/v1/items/%d"}`,
		i%60, service, level, latency, i, i)
	if (level != "error" && level != "warn") || latency < 100 {
		return line, "", ""
	}
	topic = "e2e-rest"
	if level == "error" {
		topic = "e2e-errors"
	}
	return line, topic, fmt.Sprintf(`{"latency_ms":%d,"level":%q,"service":%q}`, latency, level, service)
}

// TestTopicToTopic runs the log pipeline of the issue exactly once with two
// consumers: parse JSON lines, filter by level and latency, map to a smaller
// record, route errors to one topic and the rest to another. The output
// topics hold exactly the expected records. Stopped and started again with
// more input, it goes on from its committed offsets: nothing twice.
func TestTopicToTopic(t *testing.T) {
	addr := startBroker(t)
	createTopics(t, addr, 3, "e2e-raw", "e2e-errors", "e2e-rest")
	want := map[string][]string{}
	var recs []*kgo.Record
	feed := func(from, to int) {
		recs = recs[:0]
		for i := from; i < to; i++ {
			line, topic, value := logLine(i)
			recs = append(recs, &kgo.Record{Topic: "e2e-raw", Key: []byte(fmt.Sprint(i)), Value: []byte(line)})
			if topic != "" {
				want[topic] = append(want[topic], value)
			}
		}
		produce(t, addr, recs)
	}
	feed(0, 600)
	cfg := load(t, addr, logsPipeline, "logs-e2e")
	rn := run(t, cfg)
	waitFor(t, time.Minute, "600 records processed", func() bool { return rn.r.Stats().In >= 600 })
	waitFor(t, 10*time.Second, "no lag", func() bool { return rn.r.Stats().Lag == 0 })
	if err := rn.stop(t); err != nil {
		t.Fatalf("Run after cancel = %v, want nil", err)
	}
	s := rn.r.Stats()
	wantOut := uint64(len(want["e2e-errors"]) + len(want["e2e-rest"]))
	if s.In != 600 || s.Out != wantOut || s.Filtered != 600-wantOut || s.Errors != 0 || s.Batches == 0 {
		t.Errorf("stats = %+v, want in 600, out %d, filtered %d", s, wantOut, 600-wantOut)
	}

	feed(600, 700)
	rn = run(t, cfg)
	waitFor(t, time.Minute, "100 more records processed", func() bool { return rn.r.Stats().In >= 100 })
	if err := rn.stop(t); err != nil {
		t.Fatal(err)
	}
	if in := rn.r.Stats().In; in != 100 {
		t.Errorf("the second run consumed %d records, want the 100 new ones", in)
	}
	for _, topic := range []string{"e2e-errors", "e2e-rest"} {
		got := drain(t, addr, topic, false)
		var values []string
		for _, r := range got {
			values = append(values, string(r.Value))
			if !strings.Contains(string(r.Value), `"service":"`+string(r.Key)+`"`) {
				t.Errorf("%s: key %q does not match value %s", topic, r.Key, r.Value)
			}
		}
		slices.Sort(values)
		exp := slices.Clone(want[topic])
		slices.Sort(exp)
		if !slices.Equal(values, exp) {
			t.Errorf("%s holds %d records, want exactly the %d expected", topic, len(values), len(exp))
		}
	}
}

const fragilePipeline = `apiVersion: tributary.io/v1
kind: Pipeline
metadata: {name: fragile-e2e}
spec:
  input: {topics: [e2e-nums]}
  processors:
    - map: {value: '{"n": value.n, "double": value.n * 2}'}
  outputs: [{topic: e2e-doubled}]
  delivery: at-least-once
  onError: {dead-letter: e2e-dlq}
`

// TestDeadLetterKeepsRunning: a record whose expression fails at run time
// goes to the dead-letter topic, unchanged, with the error in its headers,
// and the records after it are processed.
func TestDeadLetterKeepsRunning(t *testing.T) {
	addr := startBroker(t)
	createTopics(t, addr, 1, "e2e-nums", "e2e-doubled", "e2e-dlq")
	rn := run(t, load(t, addr, fragilePipeline, "fragile-e2e"))
	var recs []*kgo.Record
	for i := range 80 {
		v := fmt.Sprintf(`{"n": %d}`, i)
		if i == 20 {
			v = `{"n": "twenty"}`
		}
		recs = append(recs, &kgo.Record{Topic: "e2e-nums", Value: []byte(v), Headers: []kgo.RecordHeader{{Key: "origin", Value: []byte("test")}}})
	}
	produce(t, addr, recs[:40])
	waitFor(t, time.Minute, "the first 40 records processed", func() bool { return rn.r.Stats().In >= 40 })
	produce(t, addr, recs[40:])
	waitFor(t, time.Minute, "all 80 records processed", func() bool { return rn.r.Stats().In >= 80 })
	if err := rn.stop(t); err != nil {
		t.Fatal(err)
	}
	if s := rn.r.Stats(); s.Errors != 1 || s.DeadLettered != 1 || s.Out != 79 {
		t.Errorf("stats = %+v, want 1 error dead-lettered and 79 out", s)
	}
	dlq := drain(t, addr, "e2e-dlq", false)
	if len(dlq) != 1 || string(dlq[0].Value) != `{"n": "twenty"}` {
		t.Fatalf("dead letters: %d, want the one bad record", len(dlq))
	}
	h := map[string]string{}
	for _, x := range dlq[0].Headers {
		h[x.Key] = string(x.Value)
	}
	if h["origin"] != "test" || h[runner.HeaderTopic] != "e2e-nums" || h[runner.HeaderOffset] != "20" ||
		!strings.Contains(h[runner.HeaderError], "invalid operation: string * int") || h[runner.HeaderPipeline] != "fragile-e2e" {
		t.Errorf("dead letter headers: %v", h)
	}
	out := drain(t, addr, "e2e-doubled", false)
	if len(out) != 79 {
		t.Fatalf("output holds %d records, want 79", len(out))
	}
	if last := string(out[78].Value); last != `{"double":158,"n":79}` {
		t.Errorf("last output %s: the records after the failure were not all processed", last)
	}
}

// TestRunRefusesMissingTopics: Run says which topics to create.
func TestRunRefusesMissingTopics(t *testing.T) {
	addr := startBroker(t)
	r, err := runner.New(load(t, addr, fragilePipeline, "fragile-e2e"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = r.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "topics [e2e-nums e2e-doubled e2e-dlq] do not exist") {
		t.Fatalf("Run = %v, want the missing topics named", err)
	}
}

const stoppingPipeline = `apiVersion: tributary.io/v1
kind: Pipeline
metadata: {name: stopping-e2e}
spec:
  input: {topics: [e2e-stop-in]}
  processors:
    - map: {value: '{"n": value.n, "double": value.n * 2}'}
  outputs: [{topic: e2e-stop-out}]
`

// TestStopOnError: with the default onError (stop), a record whose
// expression fails stops the pipeline with ErrStopped naming the record;
// nothing of its batch is committed (exactly-once), and a restart stops at
// the same record again: the records before it are in the output once, the
// ones after it are not processed.
func TestStopOnError(t *testing.T) {
	addr := startBroker(t)
	createTopics(t, addr, 1, "e2e-stop-in", "e2e-stop-out")
	var recs []*kgo.Record
	for i := range 60 {
		v := fmt.Sprintf(`{"n": %d}`, i)
		if i == 45 {
			v = `{"n": "forty-five"}`
		}
		recs = append(recs, &kgo.Record{Topic: "e2e-stop-in", Value: []byte(v)})
	}
	produce(t, addr, recs)
	cfg := load(t, addr, stoppingPipeline, "stopping-e2e")
	cfg.MaxPollRecords = 10
	adm := kadm.NewClient(newClient(t, addr))
	committed := func() int64 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		offs, err := adm.FetchOffsets(ctx, runner.Group("stopping-e2e"))
		if err != nil {
			t.Fatal(err)
		}
		o, _ := offs.Lookup("e2e-stop-in", 0)
		return o.At
	}
	for run := range 2 {
		r, err := runner.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err = r.Run(ctx)
		cancel()
		if !errors.Is(err, runner.ErrStopped) || !strings.Contains(err.Error(), "record e2e-stop-in[0]@45") {
			t.Fatalf("run %d: Run = %v, want ErrStopped at e2e-stop-in[0]@45", run+1, err)
		}
		if at := committed(); at > 45 || at < 40 {
			t.Fatalf("run %d: committed offset %d, want the start of the failing batch (40..45)", run+1, at)
		}
	}
	out := drain(t, addr, "e2e-stop-out", false)
	if len(out) != int(committed()) {
		t.Fatalf("output holds %d records, want the %d committed before the failing record", len(out), committed())
	}
	for i, r := range out {
		if want := fmt.Sprintf(`{"double":%d,"n":%d}`, 2*i, i); string(r.Value) != want {
			t.Fatalf("output %d = %s, want %s (each record before the failure once, in order)", i, r.Value, want)
		}
	}
}
