// Package streamstest runs a streams topology without a broker so users can
// unit-test it: typed input topics to pipe records into, typed output topics
// to read, interactive queries on the stores, and a manual wall clock for
// wall-clock punctuators. Everything happens synchronously on the caller's
// goroutine. It imports only streams.
package streamstest

import (
	"fmt"
	"time"

	"github.com/tributary-io/tributary/streams"
)

// Driver runs one topology in-process.
type Driver struct {
	e     *streams.Engine
	clock *streams.ManualClock
}

// AppID is the application id the driver uses; internal topics are named
// with it ("<AppID>-<store>-changelog").
const AppID = "test"

// New builds the topology's tasks; the wall clock starts at start.
func New(top *streams.Topology, start time.Time) (*Driver, error) {
	clock := streams.NewManualClock(start)
	e, err := streams.NewEngine(top, AppID, clock)
	if err != nil {
		return nil, fmt.Errorf("streamstest: %w", err)
	}
	return &Driver{e: e, clock: clock}, nil
}

// Querier lets streams.Get, streams.Range and streams.FetchWindows read the
// driver's stores.
func (d *Driver) Querier() streams.Querier { return d.e }

// AdvanceWallClock moves the wall clock by by and fires the wall-clock
// punctuators that are due.
func (d *Driver) AdvanceWallClock(by time.Duration) error {
	d.clock.Advance(by)
	return d.e.PunctuateWallClock()
}

// LateRecords is how many records windowed operators dropped as late.
func (d *Driver) LateRecords() int64 { return d.e.Late() }

// InputTopic pipes typed records into a source topic.
type InputTopic[K, V any] struct {
	d     *Driver
	topic string
	ks    streams.Serde[K]
	vs    streams.Serde[V]
}

// Input returns a typed handle on topic.
func Input[K, V any](d *Driver, topic string, ks streams.Serde[K], vs streams.Serde[V]) *InputTopic[K, V] {
	return &InputTopic[K, V]{d, topic, ks, vs}
}

// Pipe processes one record with event time ts (Unix milliseconds).
func (in *InputTopic[K, V]) Pipe(key K, value V, ts int64) error {
	kb, err := in.ks.Encode(key)
	if err != nil {
		return fmt.Errorf("streamstest: encode key: %w", err)
	}
	vb, err := in.vs.Encode(value)
	if err != nil {
		return fmt.Errorf("streamstest: encode value: %w", err)
	}
	return in.d.e.Pipe(in.topic, kb, vb, ts)
}

// PipeTombstone processes a record with a nil value (a table deletion).
func (in *InputTopic[K, V]) PipeTombstone(key K, ts int64) error {
	kb, err := in.ks.Encode(key)
	if err != nil {
		return fmt.Errorf("streamstest: encode key: %w", err)
	}
	return in.d.e.Pipe(in.topic, kb, nil, ts)
}

// Record is one record read from an output topic. Tombstone is set for a
// nil value (Value is then the zero V).
type Record[K, V any] struct {
	Key       K
	Value     V
	Tombstone bool
	Timestamp int64
}

// OutputTopic reads typed records the topology wrote to a topic.
type OutputTopic[K, V any] struct {
	d     *Driver
	topic string
	ks    streams.Serde[K]
	vs    streams.Serde[V]
}

// Output returns a typed handle on topic.
func Output[K, V any](d *Driver, topic string, ks streams.Serde[K], vs streams.Serde[V]) *OutputTopic[K, V] {
	return &OutputTopic[K, V]{d, topic, ks, vs}
}

// ReadAll returns and forgets the records written since the last read.
func (o *OutputTopic[K, V]) ReadAll() ([]Record[K, V], error) {
	var out []Record[K, V]
	for _, r := range o.d.e.Outputs(o.topic) {
		k, err := o.ks.Decode(r.Key)
		if err != nil {
			return nil, fmt.Errorf("streamstest: decode key of %s: %w", o.topic, err)
		}
		rec := Record[K, V]{Key: k, Timestamp: r.Timestamp, Tombstone: r.Value == nil}
		if r.Value != nil {
			if rec.Value, err = o.vs.Decode(r.Value); err != nil {
				return nil, fmt.Errorf("streamstest: decode value of %s: %w", o.topic, err)
			}
		}
		out = append(out, rec)
	}
	return out, nil
}

// ReadTable reads like ReadAll and folds the records into the latest value
// per key, deleting keys on tombstones, as a compacted topic would end up.
func ReadTable[K comparable, V any](o *OutputTopic[K, V]) (map[K]V, error) {
	rs, err := o.ReadAll()
	if err != nil {
		return nil, err
	}
	m := map[K]V{}
	for _, r := range rs {
		if r.Tombstone {
			delete(m, r.Key)
		} else {
			m[r.Key] = r.Value
		}
	}
	return m, nil
}
