package connect_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tributary-io/tributary/pipelines/connect"
	"github.com/tributary-io/tributary/sdk"
)

// memStore is what the in-process sink "mem" writes to: records become
// durable only on Flush. It is shared by every instance a task creates.
type memStore struct {
	mu      sync.Mutex
	durable []string
	writes  []time.Time
	// flushFails makes that many Flush calls fail, dropping what was
	// written since the last Flush (as a crashed sink would); onFailedFlush
	// runs in each.
	flushFails    int
	onFailedFlush func()
}

func (s *memStore) plugin() *sdk.Plugin {
	return &sdk.Plugin{Name: "mem", Version: "1.0.0", Sink: &sdk.SinkDef{
		New: func(sdk.Env) sdk.Sink { return &memSink{store: s} },
	}}
}

func (s *memStore) snapshot() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.durable)
}

// memSink refuses any batch holding a value that starts with "bad".
type memSink struct {
	store   *memStore
	pending []string
}

func (k *memSink) Open(context.Context, sdk.Config) error { return nil }
func (k *memSink) Close() error                           { return nil }

func (k *memSink) Write(_ context.Context, recs []sdk.Record) error {
	k.store.mu.Lock()
	k.store.writes = append(k.store.writes, time.Now())
	k.store.mu.Unlock()
	for _, r := range recs {
		if strings.HasPrefix(string(r.Value), "bad") {
			return fmt.Errorf("cannot store %s", r.Value)
		}
	}
	for _, r := range recs {
		k.pending = append(k.pending, string(r.Value))
	}
	return nil
}

func (k *memSink) Flush(context.Context) error {
	k.store.mu.Lock()
	fail := k.store.flushFails > 0
	hook := k.store.onFailedFlush
	if fail {
		k.store.flushFails--
	} else {
		k.store.durable = append(k.store.durable, k.pending...)
	}
	k.store.mu.Unlock()
	k.pending = nil
	if fail {
		if hook != nil {
			hook()
		}
		return fmt.Errorf("disk full")
	}
	return nil
}

// TestSinkDeadLetter: with errors.tolerance=all, the records the sink
// refuses go to the dead-letter topic with the error and their origin in
// headers; every other record reaches the sink, and the offsets of all of
// them are committed.
func TestSinkDeadLetter(t *testing.T) {
	addr := startBroker(t)
	createTopics(t, addr, "in", "dlq")
	vals := values(60, func(i int) bool { return i%10 == 3 })
	produceValues(t, addr, "in", vals)
	store := &memStore{}
	var st states
	host := connect.InProcess{Plugins: []*sdk.Plugin{store.plugin()}}
	task, err := connect.NewSinkTask(taskConfig(t, addr, host, map[string]string{
		"plugin": "mem", "type": "sink", "topics": "in", "errors.tolerance": "all",
		"errors.deadletterqueue.topic.name": "dlq", "errors.retry.timeout": "200ms"}, &st))
	if err != nil {
		t.Fatal(err)
	}
	runTask(t, task.Run)
	waitFor(t, 30*time.Second, "every offset committed", func() bool { return groupOffset(t, addr, connect.Group("c"), "in") == 60 })

	got := store.snapshot()
	for i, v := range vals {
		if want := !strings.HasPrefix(v, "bad"); slices.Contains(got, v) != want {
			t.Errorf("record %d (%s) in the sink: %v, want %v", i, v, !want, want)
		}
	}
	var dead []string
	waitFor(t, 10*time.Second, "six dead letters", func() bool { return len(committedRecords(t, addr, "dlq")) == 6 })
	for _, r := range committedRecords(t, addr, "dlq") {
		v := string(r.Value)
		dead = append(dead, v)
		var idx int
		if _, err := fmt.Sscanf(v, "bad-%d", &idx); err != nil {
			t.Fatalf("dead letter %q: %v", v, err)
		}
		if h := header(r, connect.HeaderError); !strings.Contains(h, "cannot store "+v) {
			t.Errorf("dead letter %s: error header %q", v, h)
		}
		for k, want := range map[string]string{connect.HeaderConnector: "c", connect.HeaderTask: "0",
			connect.HeaderTopic: "in", connect.HeaderPartition: "0", connect.HeaderOffset: fmt.Sprint(idx)} {
			if h := header(r, k); h != want {
				t.Errorf("dead letter %s: header %s = %q, want %q", v, k, h, want)
			}
		}
	}
	if want := []string{"bad-003", "bad-013", "bad-023", "bad-033", "bad-043", "bad-053"}; !slices.Equal(dead, want) {
		t.Fatalf("dead letters %v, want %v", dead, want)
	}
	if !strings.HasPrefix(st.last(), connect.StateRunning) {
		t.Fatalf("task state %q, want running", st.last())
	}
}

// TestSinkToleranceNoneFails: with errors.tolerance=none a record the sink
// keeps refusing fails the task after the retries; its offset and those
// after it stay uncommitted.
func TestSinkToleranceNoneFails(t *testing.T) {
	addr := startBroker(t)
	createTopics(t, addr, "in")
	vals := values(40, func(i int) bool { return i == 25 })
	produceValues(t, addr, "in", vals[:20])
	store := &memStore{}
	var st states
	host := connect.InProcess{Plugins: []*sdk.Plugin{store.plugin()}}
	task, err := connect.NewSinkTask(taskConfig(t, addr, host, map[string]string{
		"plugin": "mem", "type": "sink", "topics": "in", "errors.retry.timeout": "300ms"}, &st))
	if err != nil {
		t.Fatal(err)
	}
	run := runTask(t, task.Run)
	waitFor(t, 30*time.Second, "the first 20 offsets committed", func() bool { return groupOffset(t, addr, connect.Group("c"), "in") == 20 })
	produceValues(t, addr, "in", vals[20:])
	select {
	case <-run.done:
		if err := run.err; err == nil || !strings.Contains(err.Error(), "cannot store bad-025") {
			t.Fatalf("task ended with %v, want the refused record's error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the task did not fail within 30s")
	}
	if s := st.last(); !strings.HasPrefix(s, connect.StateFailed) || !strings.Contains(s, "cannot store bad-025") {
		t.Fatalf("last state %q, want failed with the error", s)
	}
	if o := groupOffset(t, addr, connect.Group("c"), "in"); o > 25 {
		t.Fatalf("committed offset %d is past the refused record 25", o)
	}
	if got := store.snapshot(); slices.Contains(got, "bad-025") {
		t.Fatalf("the refused record reached the sink: %v", got)
	}
}

// TestSinkCommitsOnlyAfterFlush: while Flush fails, nothing is committed
// and the batch is written again after a growing backoff; once a Flush
// succeeds the offsets are committed and every record is in the sink.
func TestSinkCommitsOnlyAfterFlush(t *testing.T) {
	addr := startBroker(t)
	createTopics(t, addr, "in")
	vals := values(50, func(int) bool { return false })
	produceValues(t, addr, "in", vals)
	var mu sync.Mutex
	var seenAtFailure []int64
	store := &memStore{flushFails: 4}
	store.onFailedFlush = func() { // on the task's goroutine: no t.Fatal
		o, err := committedOffset(addr, connect.Group("c"), "in")
		if err != nil {
			o = -2
		}
		mu.Lock()
		seenAtFailure = append(seenAtFailure, o)
		mu.Unlock()
	}
	var st states
	host := connect.InProcess{Plugins: []*sdk.Plugin{store.plugin()}}
	task, err := connect.NewSinkTask(taskConfig(t, addr, host, map[string]string{
		"plugin": "mem", "type": "sink", "topics": "in", "errors.retry.timeout": "20s"}, &st))
	if err != nil {
		t.Fatal(err)
	}
	runTask(t, task.Run)
	waitFor(t, 30*time.Second, "every offset committed", func() bool { return groupOffset(t, addr, connect.Group("c"), "in") == 50 })
	mu.Lock()
	defer mu.Unlock()
	if len(seenAtFailure) != 4 || slices.ContainsFunc(seenAtFailure, func(o int64) bool { return o != -1 }) {
		t.Fatalf("committed offsets seen during the failed flushes: %v, want four times none (-1; -2 is an error asking)", seenAtFailure)
	}
	got := store.snapshot()
	for _, v := range vals {
		if !slices.Contains(got, v) {
			t.Fatalf("%s is not in the sink after the flush succeeded", v)
		}
	}
	store.mu.Lock()
	writes := slices.Clone(store.writes)
	store.mu.Unlock()
	if len(writes) < 5 {
		t.Fatalf("%d writes, want the batch written five times", len(writes))
	}
	// InitialBackoff 50ms doubles: the gaps are at least 50, 100, 200, 400ms.
	for i := 1; i < 5; i++ {
		if gap, least := writes[i].Sub(writes[i-1]), 50*time.Millisecond<<(i-1); gap < least {
			t.Errorf("write %d came %s after the previous one, want at least %s (exponential backoff)", i, gap, least)
		}
	}
}
