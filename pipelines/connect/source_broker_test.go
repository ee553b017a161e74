package connect_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tributary-io/tributary/pipelines/connect"
	"github.com/tributary-io/tributary/sdk"
)

// counter is what the in-process source "counter" reads: records s-0000 to
// s-<total-1>, at most 7 per Read, the position after record n being n+1.
// Reads fail once before each record in failBefore; internal, when set,
// names records sent to an internal topic, which the runtime refuses.
type counter struct {
	total      int
	failBefore []int
	internal   func(n int) bool

	mu    sync.Mutex
	opens []int // the index each Open resumed at
}

func (c *counter) plugin() *sdk.Plugin {
	return &sdk.Plugin{Name: "counter", Version: "1.0.0", Source: &sdk.SourceDef{
		New: func(sdk.Env) sdk.Source { return &counterSource{c: c} },
	}}
}

type counterSource struct {
	c    *counter
	next int
}

func (s *counterSource) Open(_ context.Context, _ sdk.Config, pos sdk.Position) error {
	if pos != nil {
		s.next = int(binary.BigEndian.Uint64(pos))
	}
	s.c.mu.Lock()
	s.c.opens = append(s.c.opens, s.next)
	s.c.mu.Unlock()
	return nil
}

func (s *counterSource) Close() error { return nil }

func (s *counterSource) Read(ctx context.Context, max int) ([]sdk.Record, error) {
	if s.next >= s.c.total {
		<-ctx.Done()
		return nil, nil
	}
	var out []sdk.Record
	for len(out) < min(max, 7) && s.next < s.c.total {
		if s.failsAt(s.next) {
			if len(out) > 0 { // end the batch here; the next Read fails
				break
			}
			s.c.mu.Lock()
			s.c.failBefore = slices.DeleteFunc(s.c.failBefore, func(n int) bool { return n == s.next })
			s.c.mu.Unlock()
			return nil, fmt.Errorf("source broke before s-%04d", s.next)
		}
		r := sdk.Record{Value: fmt.Appendf(nil, "s-%04d", s.next), Position: binary.BigEndian.AppendUint64(nil, uint64(s.next+1))}
		if s.c.internal != nil && s.c.internal(s.next) {
			r.Topic = "__consumer_offsets"
		}
		out = append(out, r)
		s.next++
	}
	return out, nil
}

func (s *counterSource) failsAt(n int) bool {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return slices.Contains(s.c.failBefore, n)
}

// TestSourceRetriesResumeExactlyOnce: a source that fails three times is
// retried with backoff and reopened at its last committed position; the
// topic holds every record exactly once, in order, and the offsets topic
// the position after the last.
func TestSourceRetriesResumeExactlyOnce(t *testing.T) {
	addr := startBroker(t)
	createTopics(t, addr, "out")
	src := &counter{total: 300, failBefore: []int{50, 130, 220}}
	var st states
	host := connect.InProcess{Plugins: []*sdk.Plugin{src.plugin()}}
	task, err := connect.NewSourceTask(taskConfig(t, addr, host, map[string]string{
		"plugin": "counter", "type": "source", "topic": "out", "errors.retry.timeout": "20s"}, &st))
	if err != nil {
		t.Fatal(err)
	}
	runTask(t, task.Run)
	waitFor(t, 60*time.Second, "300 records in the topic", func() bool { return len(committedRecords(t, addr, "out")) >= 300 })
	got := committedRecords(t, addr, "out")
	if len(got) != 300 {
		t.Fatalf("topic holds %d records, want 300", len(got))
	}
	for i, r := range got {
		if want := fmt.Sprintf("s-%04d", i); string(r.Value) != want {
			t.Fatalf("record %d is %q, want %q: lost or duplicated around it", i, r.Value, want)
		}
	}
	src.mu.Lock()
	opens := slices.Clone(src.opens)
	src.mu.Unlock()
	// Each failure reopens at the committed position, which is where the
	// source broke: batches before it were committed, none after. (A
	// transaction failing on a loaded broker would add a reopen; the topic
	// check above holds either way.)
	next := 0
	for _, o := range opens {
		if next < 4 && o == []int{0, 50, 130, 220}[next] {
			next++
		}
	}
	if opens[0] != 0 || next != 4 {
		t.Fatalf("the source was opened at %v, want 0 then 50, 130 and 220 among them", opens)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pos, err := connect.ReadPosition(ctx, []string{addr}, nil, "c-0")
	if err != nil || len(pos) != 8 || binary.BigEndian.Uint64(pos) != 300 {
		t.Fatalf("committed position %x (%v), want 300", pos, err)
	}
	if !strings.HasPrefix(st.last(), connect.StateRunning) {
		t.Fatalf("task state %q, want running", st.last())
	}
}

// TestSourceDeadLetter: records the runtime cannot write go, under
// errors.tolerance=all, to the dead-letter topic with the error in a
// header; under none the task fails and their batch is not committed.
func TestSourceDeadLetter(t *testing.T) {
	addr := startBroker(t)
	createTopics(t, addr, "out", "dlq")
	internal := func(n int) bool { return n%25 == 10 }
	src := &counter{total: 100, internal: internal}
	var st states
	host := connect.InProcess{Plugins: []*sdk.Plugin{src.plugin()}}
	task, err := connect.NewSourceTask(taskConfig(t, addr, host, map[string]string{
		"plugin": "counter", "type": "source", "topic": "out", "errors.tolerance": "all",
		"errors.deadletterqueue.topic.name": "dlq"}, &st))
	if err != nil {
		t.Fatal(err)
	}
	runTask(t, task.Run)
	waitFor(t, 60*time.Second, "96 records in the topic", func() bool { return len(committedRecords(t, addr, "out")) >= 96 })
	var want []string
	for i := range 100 {
		if !internal(i) {
			want = append(want, fmt.Sprintf("s-%04d", i))
		}
	}
	var got []string
	for _, r := range committedRecords(t, addr, "out") {
		got = append(got, string(r.Value))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("topic holds %v, want %v", got, want)
	}
	dead := committedRecords(t, addr, "dlq")
	var deadVals []string
	for _, r := range dead {
		deadVals = append(deadVals, string(r.Value))
		if h := header(r, connect.HeaderError); !strings.Contains(h, "internal") || header(r, connect.HeaderConnector) != "c" {
			t.Errorf("dead letter %s: error header %q, connector %q", r.Value, h, header(r, connect.HeaderConnector))
		}
	}
	if w := []string{"s-0010", "s-0035", "s-0060", "s-0085"}; !slices.Equal(deadVals, w) {
		t.Fatalf("dead letters %v, want %v", deadVals, w)
	}

	t.Run("tolerance none fails", func(t *testing.T) {
		createTopics(t, addr, "out2")
		src := &counter{total: 100, internal: func(n int) bool { return n == 10 }}
		var st states
		host := connect.InProcess{Plugins: []*sdk.Plugin{src.plugin()}}
		cfg := taskConfig(t, addr, host, map[string]string{
			"plugin": "counter", "type": "source", "topic": "out2", "errors.retry.timeout": "300ms"}, &st)
		cfg.Connector.Name = "c2"
		task, err := connect.NewSourceTask(cfg)
		if err != nil {
			t.Fatal(err)
		}
		run := runTask(t, task.Run)
		select {
		case <-run.done:
		case <-time.After(30 * time.Second):
			t.Fatal("the task did not fail within 30s")
		}
		if run.err == nil || !strings.Contains(run.err.Error(), "internal") {
			t.Fatalf("task ended with %v, want the refused record's error", run.err)
		}
		if s := st.last(); !strings.HasPrefix(s, connect.StateFailed) {
			t.Fatalf("last state %q, want failed", s)
		}
		// Batches of 7: 0-6 committed, the batch 7-13 holding s-0010 not.
		got := committedRecords(t, addr, "out2")
		if len(got) != 7 || string(got[6].Value) != "s-0006" {
			var vs []string
			for _, r := range got {
				vs = append(vs, string(r.Value))
			}
			t.Fatalf("topic holds %v, want s-0000 to s-0006", vs)
		}
	})
}
