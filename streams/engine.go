package streams

import (
	"errors"
	"fmt"
	"time"
)

// Engine runs a topology in-process without a broker, for tests: one task
// per sub-topology (partition 0), in-memory stores, records written to a
// repartition topic processed right after the record that produced them,
// and everything written to other topics kept for the caller.
// streamstest builds its typed driver on it. Not safe for concurrent use.
type Engine struct {
	top      *Topology
	appID    string
	clock    Clock
	tasks    []*taskCtx
	topicSub map[string]*taskCtx
	queue    []Output
	outputs  map[string][]Output
}

// Output is a record an Engine's topology wrote to a topic.
type Output struct {
	Topic      string
	Key, Value []byte
	// Timestamp is the record's event time in Unix milliseconds.
	Timestamp int64
}

// NewEngine builds the tasks of top for appID; clock drives wall-clock
// punctuation (nil means the system clock).
func NewEngine(top *Topology, appID string, clock Clock) (*Engine, error) {
	if clock == nil {
		clock = systemClock{}
	}
	e := &Engine{top: top, appID: appID, clock: clock, topicSub: map[string]*taskCtx{}, outputs: map[string][]Output{}}
	for _, sub := range top.subs {
		t, err := newTask(top, sub, 0, appID, func(taskID, *storeDef) (backend, error) { return newMemBackend(), nil }, engineSender{e}, clock)
		if err != nil {
			return nil, err
		}
		e.tasks = append(e.tasks, t)
		for _, topic := range sub.topics(appID) {
			e.topicSub[topic] = t
		}
	}
	return e, nil
}

type engineSender struct{ e *Engine }

func (s engineSender) send(topic string, _ int32, key, value []byte, ts int64, done func(int64)) {
	out := Output{Topic: topic, Key: key, Value: value, Timestamp: ts}
	switch {
	case s.e.topicSub[topic] != nil:
		s.e.queue = append(s.e.queue, out)
	default:
		s.e.outputs[topic] = append(s.e.outputs[topic], out)
	}
	if done != nil {
		done(int64(len(s.e.outputs[topic]) - 1))
	}
}

// Pipe processes one record of an input topic, and then every record the
// topology routes through its repartition topics as a result.
func (e *Engine) Pipe(topic string, key, value []byte, ts int64) error {
	t, ok := e.topicSub[topic]
	if !ok {
		return fmt.Errorf("streams: topic %s is not an input of the topology", topic)
	}
	if err := t.process(topic, key, value, ts); err != nil {
		return err
	}
	for len(e.queue) > 0 {
		r := e.queue[0]
		e.queue = e.queue[1:]
		if err := e.topicSub[r.Topic].process(r.Topic, r.Key, r.Value, r.Timestamp); err != nil {
			return err
		}
	}
	e.flush()
	return nil
}

// flush writes the changelog records, which land in outputs under the
// changelog topic names; tests may inspect them.
func (e *Engine) flush() {
	for _, t := range e.tasks {
		t.flush()
	}
}

// PunctuateWallClock fires the wall-clock punctuators due at the clock's
// current time.
func (e *Engine) PunctuateWallClock() error {
	now := e.clock.Now().UnixMilli()
	var errs []error
	for _, t := range e.tasks {
		errs = append(errs, t.punctuate(WallClockTime, now))
	}
	for len(e.queue) > 0 {
		r := e.queue[0]
		e.queue = e.queue[1:]
		errs = append(errs, e.topicSub[r.Topic].process(r.Topic, r.Key, r.Value, r.Timestamp))
	}
	e.flush()
	return errors.Join(errs...)
}

// Outputs returns and forgets what the topology wrote to topic.
func (e *Engine) Outputs(topic string) []Output {
	out := e.outputs[topic]
	delete(e.outputs, topic)
	return out
}

// Late is the number of records windowed operators dropped as late.
func (e *Engine) Late() int64 {
	var n int64
	for _, t := range e.tasks {
		n += t.stats.late
	}
	return n
}

// ManualClock is a Clock that moves only when told. It is not safe for
// concurrent use; the Engine reads it on the caller's goroutine.
type ManualClock struct{ now time.Time }

// NewManualClock returns a clock standing at start.
func NewManualClock(start time.Time) *ManualClock { return &ManualClock{now: start} }

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time { return c.now }

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) { c.now = c.now.Add(d) }
