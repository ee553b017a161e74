// Package eoscheck is the exactly-once scenario the end-to-end tests of
// pipelines share (pipelines/e2e runs it with `tributary pipeline run`,
// pipelines/deploy/e2e with deployed pipelines on `tributary worker`s):
// numbered JSON records, a pipeline dropping every tenth and mapping the
// rest, and the check that read_committed output holds each expected
// record exactly once. Only tests import it; of the module it imports
// nothing.
package eoscheck

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Records is how many input records the scenario uses.
const Records = 200_000

// Manifest is the pipeline called name, reading topic in and writing topic
// out, exactly-once (the default), with the extra spec lines given (each
// starting with two spaces and ending with a newline).
func Manifest(name, in, out, extra string) string {
	return fmt.Sprintf(`apiVersion: tributary.io/v1
kind: Pipeline
metadata: {name: %s}
spec:
  input: {topics: [%s]}
  processors:
    - filter: value.id %% 10 != 3
    - map:
        key: string(value.id)
        value: '{"id": value.id, "double": value.id * 2}'
  outputs: [{topic: %s}]
%s`, name, in, out, extra)
}

// Input is input record i for topic.
func Input(topic string, i int) *kgo.Record {
	return &kgo.Record{Topic: topic, Key: []byte(strconv.Itoa(i)), Value: fmt.Appendf(nil, `{"id":%d}`, i)}
}

// Check returns nil when out holds, for every i below total that is not 3
// modulo 10, the record {"double": 2i, "id": i} keyed i, exactly once, and
// nothing else.
func Check(out []*kgo.Record, total int) error {
	seen := make(map[int]int, total)
	for _, r := range out {
		id, err := strconv.Atoi(string(r.Key))
		if want := fmt.Sprintf(`{"double":%d,"id":%d}`, 2*id, id); err != nil || string(r.Value) != want {
			return fmt.Errorf("output key %q value %s is not an expected record", r.Key, r.Value)
		}
		seen[id]++
	}
	missing, dup := 0, 0
	var errs []error
	for i := range total {
		switch n := seen[i]; {
		case i%10 == 3 && n != 0:
			errs = append(errs, fmt.Errorf("record %d should have been filtered, seen %d times", i, n))
		case i%10 != 3 && n == 0:
			missing++
		case n > 1:
			dup++
		}
	}
	if want := total - total/10; missing > 0 || dup > 0 || len(out) != want {
		errs = append(errs, fmt.Errorf("read_committed output: %d records, want %d; %d missing, %d duplicated", len(out), want, missing, dup))
	}
	return errors.Join(errs...)
}

// Lagger reads the end offsets topic has now and returns a function that
// says how many records up to them group has not committed yet (-1 when the
// group's offsets cannot be read), summed over the partitions.
func Lagger(ctx context.Context, adm *kadm.Client, group, topic string) (func() int64, error) {
	offs, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = offs.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	ends := map[int32]int64{}
	offs.Each(func(o kadm.ListedOffset) { ends[o.Partition] = o.Offset })
	return func() int64 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		committed, err := adm.FetchOffsets(ctx, group)
		if err != nil {
			return -1
		}
		var lag int64
		for p, end := range ends {
			if o, ok := committed.Lookup(topic, p); ok && o.Err == nil && o.At >= 0 {
				lag += end - o.At
			} else {
				lag += end
			}
		}
		return lag
	}, nil
}
