package streams

import (
	"fmt"
	"time"
)

// Clock is the wall clock the runtime reads for wall-clock punctuation and
// commit intervals; tests inject a manual one.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// sender writes a record to a topic. partition -1 lets the partitioner pick
// by key; ts is the record timestamp in Unix milliseconds, negative for
// "now"; done, when not nil, gets the record's offset once it is written.
type sender interface {
	send(topic string, partition int32, key, value []byte, ts int64, done func(offset int64))
}

// PunctuationType selects the time a punctuator follows.
type PunctuationType int

const (
	// StreamTime punctuators fire as the task's stream time (the largest
	// record timestamp seen) advances; they never fire without input.
	StreamTime PunctuationType = iota
	// WallClockTime punctuators fire as the runtime's Clock advances.
	WallClockTime
)

type punctuator struct {
	kind     PunctuationType
	interval int64 // ms
	last     int64 // time of the last firing; minTime before the first
	fn       func(ts int64) error
}

// taskID names a task: a sub-topology at one partition number.
type taskID struct {
	sub       int
	partition int32
}

func (t taskID) String() string { return fmt.Sprintf("%d_%d", t.sub, t.partition) }

// taskCtx is one task: the processor instances of a sub-topology at one
// partition and their stores. Only the goroutine running the App (or the
// test driver) touches it.
type taskCtx struct {
	id         taskID
	appID      string
	stores     map[string]*store
	sources    map[string]proc // broker topic name → source processor
	out        sender
	clock      Clock
	streamTime int64
	punct      []*punctuator
	stats      *taskStats
	built      map[*node]proc
}

// taskStats counts what a task did; the App sums them for Stats.
type taskStats struct {
	processed, late int64
}

// storeOpener opens the backend of one store of one task.
type storeOpener func(id taskID, def *storeDef) (backend, error)

// newTask instantiates sub-topology sub for partition p.
func newTask(t *Topology, sub *subTopology, p int32, appID string, open storeOpener, out sender, clock Clock) (*taskCtx, error) {
	tc := &taskCtx{
		id: taskID{sub.id, p}, appID: appID, stores: map[string]*store{}, sources: map[string]proc{},
		out: out, clock: clock, streamTime: minTime, stats: &taskStats{}, built: map[*node]proc{},
	}
	for _, def := range sub.stores {
		b, err := open(tc.id, def)
		if err != nil {
			tc.close(false)
			return nil, fmt.Errorf("open store %s of task %s: %w", def.name, tc.id, err)
		}
		st := &store{def: def, b: b, changed: map[string]struct{}{},
			topic: changelogTopic(appID, def.name), partition: p}
		st.next.Store(-1)
		tc.stores[def.name] = st
	}
	for _, src := range sub.sources {
		p, err := tc.buildNode(src)
		if err != nil {
			tc.close(false)
			return nil, fmt.Errorf("task %s: %w", tc.id, err)
		}
		for _, topic := range src.topics {
			tc.sources[topicName(appID, topic, src.internal)] = p
		}
	}
	return tc, nil
}

// buildNode returns n's instance in this task, building it and everything
// below it once.
func (tc *taskCtx) buildNode(n *node) (proc, error) {
	if p, ok := tc.built[n]; ok {
		return p, nil
	}
	kids := make([]proc, 0, len(n.children))
	for _, c := range n.children {
		kp, err := tc.buildNode(c)
		if err != nil {
			return nil, err
		}
		kids = append(kids, kp)
	}
	fwd := func(r rec) error {
		for _, k := range kids {
			if err := k.process(r); err != nil {
				return err
			}
		}
		return nil
	}
	p, err := n.build(tc, fwd)
	if err != nil {
		return nil, fmt.Errorf("processor %s: %w", n.name, err)
	}
	tc.built[n] = p
	return p, nil
}

// store returns the task's store by name; the topology guarantees it.
func (tc *taskCtx) store(name string) *store { return tc.stores[name] }

// topic names a topic for this application.
func (tc *taskCtx) topic(name string, internal bool) string {
	return topicName(tc.appID, name, internal)
}

// process runs one input record of topic through the task.
func (tc *taskCtx) process(topic string, key, value []byte, ts int64) error {
	src, ok := tc.sources[topic]
	if !ok {
		return fmt.Errorf("task %s: no source for topic %s", tc.id, topic)
	}
	tc.stats.processed++
	if ts > tc.streamTime {
		tc.streamTime = ts
	}
	if err := src.process(rec{key: key, value: value, ts: ts}); err != nil {
		return fmt.Errorf("task %s, record of %s: %w", tc.id, topic, err)
	}
	return tc.punctuate(StreamTime, tc.streamTime)
}

// punctuate fires the punctuators of kind that are due at now.
func (tc *taskCtx) punctuate(kind PunctuationType, now int64) error {
	for _, p := range tc.punct {
		if p.kind != kind {
			continue
		}
		if p.last == minTime {
			p.last = now
			continue
		}
		if now-p.last >= p.interval {
			p.last = now
			if err := p.fn(now); err != nil {
				return fmt.Errorf("task %s punctuator: %w", tc.id, err)
			}
		}
	}
	return nil
}

// schedule adds a punctuator.
func (tc *taskCtx) schedule(kind PunctuationType, interval time.Duration, fn func(ts int64) error) {
	ms := interval.Milliseconds()
	if ms <= 0 {
		ms = 1
	}
	tc.punct = append(tc.punct, &punctuator{kind: kind, interval: ms, last: minTime, fn: fn})
}

// flush writes every store's changes to its changelog.
func (tc *taskCtx) flush() {
	for _, s := range tc.stores {
		s.flush(tc.out)
	}
}

// committed tells durable backends that the changelog writes flushed before
// the commit are committed.
func (tc *taskCtx) committed() error {
	for _, s := range tc.stores {
		if next := s.next.Load(); next >= 0 {
			if err := s.b.commit(next); err != nil {
				return fmt.Errorf("checkpoint store %s of task %s: %w", s.def.name, tc.id, err)
			}
		}
	}
	return nil
}

// close releases the stores. keep says whether durable contents stay (a
// clean hand-off) or are deleted (the state may hold uncommitted writes).
func (tc *taskCtx) close(keep bool) {
	for _, s := range tc.stores {
		if keep {
			_ = s.b.close()
		} else {
			_ = s.b.destroy()
		}
	}
}
