package stateful

import (
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/streams"
	"github.com/tributary-io/tributary/streams/streamstest"
)

// Offline runs the plan on records without a broker, through the streams
// test driver: each record is piped into its topic (input topics, or a
// join's table topic) in order, and what the outputs received is collected
// after each one, so the result keeps the order in which records were
// written. It stops at the first error, which wraps ErrRecord when a record
// failed and onError is stop. `tributary pipeline test` uses it.
func (pl *Plan) Offline(recs []*kgo.Record, c *Counters) ([]*kgo.Record, error) {
	top, err := pl.Topology(c)
	if err != nil {
		return nil, err
	}
	d, err := streamstest.New(top, time.Unix(0, 0))
	if err != nil {
		return nil, err
	}
	var out []*kgo.Record
	for _, r := range recs {
		in := streamstest.Input(d, r.Topic, streams.Bytes(), streams.Bytes())
		ts := r.Timestamp.UnixMilli()
		if r.Value == nil {
			err = in.PipeTombstone(r.Key, ts)
		} else {
			err = in.Pipe(r.Key, r.Value, ts)
		}
		for _, o := range pl.spec.Outputs {
			got, rerr := streamstest.Output(d, o.Topic, streams.Bytes(), streams.Bytes()).ReadAll()
			if rerr != nil {
				return out, rerr
			}
			for _, g := range got {
				out = append(out, &kgo.Record{Topic: o.Topic, Key: g.Key, Value: g.Value, Timestamp: time.UnixMilli(g.Timestamp)})
			}
		}
		if err != nil {
			return out, fmt.Errorf("record %s[%d]@%d: %w", r.Topic, r.Partition, r.Offset, err)
		}
	}
	return out, nil
}
