package perf

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// EndToEndConfig is a produce run whose records are read back as they arrive.
// Produce's fields apply to the producing side (Stamp is always on);
// RecordSize must be at least 8.
type EndToEndConfig struct {
	Produce ProduceConfig
	// Consumers is how many clients read in parallel. Default 1.
	Consumers int
	// Warmup leaves the records sent in the first Warmup of the run out of the
	// latency figures (connections, first metadata, page cache).
	Warmup time.Duration
	// Drain bounds how long reading goes on after the last record was
	// acknowledged. Default 10s.
	Drain time.Duration
}

// EndToEnd starts consumers at the topic's end, produces records stamped with
// their send time, and measures for each record the time from the stamp to its
// arrival at a consumer of the same process (one clock, so no skew). The
// report counts the records read back; its rate is over the whole run.
func EndToEnd(ctx context.Context, cfg EndToEndConfig) (Report, error) {
	pc := cfg.Produce
	pc.Stamp = true
	pc.ensureDefaults()
	if err := pc.validate(); err != nil {
		return Report{}, fmt.Errorf("end-to-end config: %w", err)
	}
	if cfg.Consumers <= 0 {
		cfg.Consumers = 1
	}
	if cfg.Drain <= 0 {
		cfg.Drain = 10 * time.Second
	}
	if pc.Partitions > 0 {
		if err := EnsureTopic(ctx, pc.Brokers, pc.Topic, pc.Partitions, pc.ClientOpts...); err != nil {
			return Report{}, err
		}
		pc.Partitions = 0
	}
	ends, parts, err := topicLayout(ctx, pc.Brokers, pc.Topic, pc.ClientOpts)
	if err != nil {
		return Report{}, err
	}
	starts := make(map[int32]kgo.Offset, parts)
	for p := range parts {
		starts[p] = kgo.NewOffset().At(ends[p])
	}
	var c counters
	stop := startProgress(pc.Progress, pc.OnProgress, pc.ProgressEvery, "end-to-end", &c)
	defer stop()
	readers, err := newReaders(pc.Brokers, pc.Topic, cfg.Consumers, starts, nil, &c,
		append([]kgo.Opt{kgo.FetchMaxWait(time.Second)}, pc.ClientOpts...))
	if err != nil {
		return Report{}, err
	}

	// onRecord runs on each reader's goroutine, and readers run in parallel.
	var (
		mu    sync.Mutex
		total Histogram
	)
	start := time.Now()
	cutoff := start.Add(cfg.Warmup).UnixNano()
	onRecord := func(r *kgo.Record, now time.Time) {
		if len(r.Value) < 8 {
			return
		}
		sent := int64(binary.BigEndian.Uint64(r.Value))
		if sent < cutoff {
			return
		}
		lat := time.Duration(now.UnixNano() - sent)
		mu.Lock()
		total.Record(lat)
		mu.Unlock()
		c.latSum.Add(int64(lat))
		c.latN.Add(1)
	}

	readCtx, cancelRead := context.WithCancel(ctx)
	defer cancelRead()
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		runReaders(readCtx, readers, 0, 0, onRecord)
	}()

	// The producer's own counters are kept apart: the report counts records read.
	pc.Progress, pc.OnProgress = nil, nil
	prep, perr := Produce(ctx, pc)
	if perr == nil && prep.Records > 0 {
		deadline := time.NewTimer(cfg.Drain)
		tick := time.NewTicker(10 * time.Millisecond)
		for c.records.Load() < prep.Records {
			select {
			case <-deadline.C:
				perr = fmt.Errorf("end-to-end: %d of %d records read back within %s", c.records.Load(), prep.Records, cfg.Drain)
			case <-ctx.Done():
				perr = ctx.Err()
			case <-tick.C:
				continue
			}
			break
		}
		deadline.Stop()
		tick.Stop()
	}
	elapsed := time.Since(start)
	cancelRead()
	<-readDone
	stop()
	mu.Lock()
	defer mu.Unlock()
	rep := newReport("end-to-end", c.records.Load(), c.bytes.Load(), c.errs.Load()+prep.Errors, elapsed, &total)
	if perr != nil && !errors.Is(perr, context.Canceled) {
		return rep, perr
	}
	return rep, nil
}
