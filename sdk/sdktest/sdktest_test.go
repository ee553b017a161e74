package sdktest

import (
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tributary-io/tributary/sdk"
)

// queue is an in-memory external system: a source reads its items, a sink
// appends to it. Items only become visible to Written after a flush.
type queue struct {
	mu      sync.Mutex
	items   [][]byte
	durable [][]byte
}

func (q *queue) push(v []byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.items = append(q.items, v)
}

func (q *queue) at(i uint64) ([]byte, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if i >= uint64(len(q.items)) {
		return nil, false
	}
	return q.items[i], true
}

// queues maps the "queue" config value to a queue, so fixtures stay apart.
type queues struct {
	mu sync.Mutex
	m  map[string]*queue
}

func (qs *queues) get(name string) *queue {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	if qs.m[name] == nil {
		qs.m[name] = &queue{}
	}
	return qs.m[name]
}

type queueSource struct {
	qs   *queues
	q    *queue
	next uint64
	poll time.Duration
}

func (s *queueSource) Open(_ context.Context, cfg sdk.Config, pos sdk.Position) error {
	s.q, s.poll = s.qs.get(cfg.String("queue")), cfg.Duration("poll.interval")
	if pos != nil {
		if len(pos) != 8 {
			return fmt.Errorf("position of %d bytes, want 8", len(pos))
		}
		s.next = binary.BigEndian.Uint64(pos)
	}
	return nil
}

func (s *queueSource) Read(ctx context.Context, max int) ([]sdk.Record, error) {
	t := time.NewTicker(s.poll)
	defer t.Stop()
	for {
		var out []sdk.Record
		for len(out) < max {
			v, ok := s.q.at(s.next)
			if !ok {
				break
			}
			s.next++
			out = append(out, sdk.Record{Value: v, Position: binary.BigEndian.AppendUint64(nil, s.next)})
		}
		if len(out) > 0 {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

func (s *queueSource) Close() error { return nil }

type queueSink struct {
	qs      *queues
	q       *queue
	pending [][]byte
}

func (k *queueSink) Open(_ context.Context, cfg sdk.Config) error {
	k.q = k.qs.get(cfg.String("queue"))
	return nil
}

func (k *queueSink) Write(_ context.Context, rs []sdk.Record) error {
	for _, r := range rs {
		k.pending = append(k.pending, r.Value)
	}
	return nil
}

func (k *queueSink) Flush(context.Context) error {
	k.q.mu.Lock()
	defer k.q.mu.Unlock()
	k.q.durable = append(k.q.durable, k.pending...)
	k.pending = nil
	return nil
}

func (k *queueSink) Close() error { return nil }

func queuePlugin(qs *queues) sdk.Plugin {
	spec := sdk.ConfigSpec{Fields: []sdk.Field{
		{Name: "queue", Type: sdk.String, Required: true, Description: "queue name"},
		{Name: "poll.interval", Type: sdk.Duration, Default: "5ms", Min: sdk.Limit(int64(time.Millisecond)), Description: "how often to look for items"},
		{Name: "batch.size", Type: sdk.Int, Default: "10", Description: "unused, typed for the generic checks"},
	}}
	return sdk.Plugin{
		Name: "queue", Version: "0.1.0",
		Source: &sdk.SourceDef{Spec: spec, New: func(sdk.Env) sdk.Source { return &queueSource{qs: qs} }},
		Sink:   &sdk.SinkDef{Spec: spec, New: func(sdk.Env) sdk.Sink { return &queueSink{qs: qs} }},
	}
}

func TestQueuePluginConformance(t *testing.T) {
	qs := &queues{m: map[string]*queue{}}
	target := Local(queuePlugin(qs))
	t.Run("source", func(t *testing.T) { runQueueSourceSuite(t, qs, target) })
	t.Run("sink", func(t *testing.T) { runQueueSinkSuite(t, qs, target) })
}

func runQueueSourceSuite(t *testing.T, qs *queues, target Target) {
	RunSourceSuite(t, target, SourceSuite{
		Setup: func(t *testing.T) SourceFixture {
			q := qs.get(t.Name())
			n := 0
			return SourceFixture{
				Config: map[string]string{"queue": t.Name()},
				Produce: func(t *testing.T, count int) {
					for i := 0; i < count; i++ {
						q.push(fmt.Appendf(nil, "item-%d", n))
						n++
					}
				},
			}
		},
		Invalid: []InvalidConfig{{Name: "poll too fast", Config: map[string]string{"queue": "q", "poll.interval": "1us"}, Fields: []string{"poll.interval"}}},
	})
}

func runQueueSinkSuite(t *testing.T, qs *queues, target Target) {
	RunSinkSuite(t, target, SinkSuite{
		Setup: func(t *testing.T) SinkFixture {
			q := qs.get("sink-" + t.Name())
			return SinkFixture{
				Config: map[string]string{"queue": "sink-" + t.Name()},
				Written: func(*testing.T) [][]byte {
					q.mu.Lock()
					defer q.mu.Unlock()
					return append([][]byte(nil), q.durable...)
				},
			}
		},
	})
}

// fakeTB records a failure instead of stopping the test, and stops the
// failing helper's goroutine as testing.T does.
type fakeTB struct{ failure string }

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failure = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func runFake(fn func(tb TB)) string {
	tb := &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(tb)
	}()
	<-done
	return tb.failure
}

// badSource misbehaves in the way its mode says.
type badSource struct{ mode string }

func (b badSource) Open(context.Context, sdk.Config, sdk.Position) error { return nil }
func (b badSource) Close() error                                         { return nil }
func (b badSource) Read(ctx context.Context, max int) ([]sdk.Record, error) {
	switch b.mode {
	case "no position":
		return []sdk.Record{{Value: []byte("x")}}, nil
	case "too many":
		return make([]sdk.Record, max+1), nil
	case "error":
		return nil, fmt.Errorf("boom")
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestReadNCatchesMisbehaviour(t *testing.T) {
	cases := []struct {
		mode string
		want string
	}{
		{"no position", "has no position"},
		{"too many", "asked for at most 2"},
		{"error", "boom"},
		{"idle", "read 0 records"},
	}
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			failure := runFake(func(tb TB) { ReadN(tb, badSource{c.mode}, 2, 0, 300*time.Millisecond) })
			if !strings.Contains(failure, c.want) {
				t.Fatalf("failure = %q, want one containing %q", failure, c.want)
			}
		})
	}
}

func TestOpenSourceRefusesInvalidConfig(t *testing.T) {
	target := Local(queuePlugin(&queues{m: map[string]*queue{}}))
	failure := runFake(func(tb TB) { OpenSource(tb, target, map[string]string{"poll.interval": "x"}, nil) })
	for _, want := range []string{"queue", "poll.interval", "2 problems"} {
		if !strings.Contains(failure, want) {
			t.Errorf("failure %q does not mention %q", failure, want)
		}
	}
}
