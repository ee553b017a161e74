package perf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ConsumeConfig says what a consume run reads. Zero values take the default
// written on each field.
type ConsumeConfig struct {
	// Brokers are the bootstrap addresses. Required.
	Brokers []string
	// Topic is read from the start of every partition. Required.
	Topic string
	// Records stops the run after this many records in all; Duration after
	// that long. With neither, the run reads what the topic held when it
	// started (up to each partition's end offset then) and stops.
	Records  int64
	Duration time.Duration
	// Consumers is how many clients read in parallel; partitions are dealt to
	// them round robin (no consumer group). Default 1.
	Consumers int
	// FetchMaxBytes and PartitionMaxBytes bound one fetch response and one
	// partition in it. Defaults 50 MiB and 1 MiB, as Kafka's consumer.
	FetchMaxBytes     int32
	PartitionMaxBytes int32
	// Idle ends the run when no record has arrived for this long (Kafka's
	// consumer perf --timeout): a partition whose last offsets are
	// transaction markers, which a consumer never sees, still ends. Default
	// 10s; the idle wait is not counted in the run's time.
	Idle time.Duration
	// Progress, when set, gets a line every ProgressEvery (default 5s).
	Progress      io.Writer
	ProgressEvery time.Duration
	// OnProgress, when set, is called every ProgressEvery with the totals
	// so far, on a goroutine the run owns and stops before it returns.
	OnProgress func(Progress)
	// ClientOpts are appended to every client's options.
	ClientOpts []kgo.Opt
}

func (c *ConsumeConfig) ensureDefaults() {
	if c.Idle == 0 {
		c.Idle = 10 * time.Second
	}
	if c.Consumers == 0 {
		c.Consumers = 1
	}
	if c.FetchMaxBytes == 0 {
		c.FetchMaxBytes = 50 << 20
	}
	if c.PartitionMaxBytes == 0 {
		c.PartitionMaxBytes = 1 << 20
	}
	if c.ProgressEvery == 0 {
		c.ProgressEvery = 5 * time.Second
	}
}

func (c *ConsumeConfig) validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("no bootstrap brokers"))
	}
	if c.Topic == "" {
		errs = append(errs, errors.New("no topic"))
	}
	if c.Records < 0 || c.Duration < 0 || c.Consumers < 0 || c.FetchMaxBytes < 0 || c.PartitionMaxBytes < 0 || c.Idle < 0 {
		errs = append(errs, errors.New("records, duration, consumers, fetch sizes and idle must not be negative"))
	}
	return errors.Join(errs...)
}

// Consume reads the topic from its start with parallel consumers and reports
// throughput. Cancelling ctx ends the run early and reports what was read.
func Consume(ctx context.Context, cfg ConsumeConfig) (Report, error) {
	cfg.ensureDefaults()
	if err := cfg.validate(); err != nil {
		return Report{}, fmt.Errorf("consume config: %w", err)
	}
	ends, parts, err := topicLayout(ctx, cfg.Brokers, cfg.Topic, cfg.ClientOpts)
	if err != nil {
		return Report{}, err
	}
	starts := make(map[int32]kgo.Offset, parts)
	for p := range parts {
		starts[p] = kgo.NewOffset().AtStart()
	}
	stopAt := ends
	if cfg.Records > 0 || cfg.Duration > 0 {
		stopAt = nil // read until the count or the duration
	}
	var c counters
	stop := startProgress(cfg.Progress, cfg.OnProgress, cfg.ProgressEvery, "consume", &c)
	defer stop()
	runCtx := ctx
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	readers, err := newReaders(cfg.Brokers, cfg.Topic, cfg.Consumers, starts, stopAt, &c, readerOpts(&cfg))
	if err != nil {
		return Report{}, err
	}
	start := time.Now()
	last := runReaders(runCtx, readers, cfg.Records, cfg.Idle, nil)
	elapsed := time.Since(start)
	if !last.IsZero() && last.After(start) {
		elapsed = last.Sub(start) // the run ends with its last record, not with the idle wait
	}
	stop()
	return newReport("consume", c.records.Load(), c.bytes.Load(), c.errs.Load(), elapsed, nil), nil
}

func readerOpts(cfg *ConsumeConfig) []kgo.Opt {
	return append([]kgo.Opt{
		kgo.FetchMaxBytes(cfg.FetchMaxBytes),
		kgo.FetchMaxPartitionBytes(cfg.PartitionMaxBytes),
	}, cfg.ClientOpts...)
}

// topicLayout returns the end offset of each partition of topic and how many
// partitions it has.
func topicLayout(ctx context.Context, brokers []string, topic string, opts []kgo.Opt) (map[int32]int64, int32, error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ClientID("tributary-perf")}, opts...)...)
	if err != nil {
		return nil, 0, fmt.Errorf("create client for %v: %w", brokers, err)
	}
	defer cl.Close()
	parts, err := partitionCount(ctx, cl, topic)
	if err != nil {
		return nil, 0, err
	}
	ends, err := endOffsets(ctx, cl, topic)
	if err != nil {
		return nil, 0, err
	}
	return ends, parts, nil
}

// reader is one consumer client and the partitions dealt to it.
type reader struct {
	cl *kgo.Client
	c  *counters
	// left is, per partition still to finish, the end offset to read up to;
	// nil when the run ends by count, duration or ctx instead.
	left map[int32]int64
}

// newReaders makes n clients that split the partitions of starts between them
// round robin. stopAt, when set, is where each partition's reading ends.
func newReaders(brokers []string, topic string, n int, starts map[int32]kgo.Offset, stopAt map[int32]int64,
	c *counters, opts []kgo.Opt) ([]*reader, error) {
	n = max(1, min(n, len(starts)))
	share := make([]map[int32]kgo.Offset, n)
	for i := range share {
		share[i] = make(map[int32]kgo.Offset)
	}
	for p, o := range starts {
		share[int(p)%n][p] = o
	}
	pool := &recordPool{}
	var out []*reader
	for i := range n {
		cl, err := kgo.NewClient(append([]kgo.Opt{
			kgo.SeedBrokers(brokers...),
			kgo.ClientID("tributary-perf"),
			kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: share[i]}),
			kgo.WithPools(pool),
		}, opts...)...)
		if err != nil {
			for _, r := range out {
				r.cl.Close()
			}
			return nil, fmt.Errorf("create consumer for %v: %w", brokers, err)
		}
		r := &reader{cl: cl, c: c}
		if stopAt != nil {
			r.left = make(map[int32]int64)
			for p := range share[i] {
				if stopAt[p] > 0 {
					r.left[p] = stopAt[p]
				}
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// runReaders polls every reader until it is done (its partitions read to their
// end offsets), total records were read by all (total > 0), no record arrived
// for idle (idle > 0), or ctx is done, and returns when the last record
// arrived. onRecord, when set, sees every record before it is recycled.
// Readers are closed on return.
func runReaders(ctx context.Context, readers []*reader, total int64, idle time.Duration,
	onRecord func(*kgo.Record, time.Time)) time.Time {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		last time.Time
	)
	for _, r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.cl.Close()
			done, at := r.read(ctx, total, idle, onRecord)
			if done {
				cancel() // the count is reached: stop the others too
			}
			mu.Lock()
			if at.After(last) {
				last = at
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return last
}

// read polls until its partitions are done, total is reached (reports true),
// idle passes without a record, or ctx is done. It returns when its last
// record arrived.
func (r *reader) read(ctx context.Context, total int64, idle time.Duration,
	onRecord func(*kgo.Record, time.Time)) (reachedTotal bool, last time.Time) {
	for r.left == nil || len(r.left) > 0 {
		pollCtx, cancel := ctx, context.CancelFunc(func() {})
		if idle > 0 {
			pollCtx, cancel = context.WithTimeout(ctx, idle)
		}
		fs := r.cl.PollFetches(pollCtx)
		idled := pollCtx.Err() != nil
		cancel()
		if ctx.Err() != nil {
			return false, last
		}
		now := time.Now()
		fs.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				r.c.errs.Add(1)
			}
		})
		var n, bytes int64
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			for _, rec := range p.Records {
				n++
				bytes += int64(len(rec.Value))
				if onRecord != nil {
					onRecord(rec, now)
				}
				if end, ok := r.left[p.Partition]; ok && rec.Offset >= end-1 {
					delete(r.left, p.Partition)
				}
				rec.Recycle()
			}
		})
		if n > 0 {
			last = now
		} else if idled {
			return false, last
		}
		r.c.bytes.Add(bytes)
		if got := r.c.records.Add(n); total > 0 && got >= total {
			return true, last
		}
	}
	return false, last
}

// recordPool lends franz-go the slices it decodes fetched records into, so a
// long consume run does not allocate a record per record read.
type recordPool struct{ p sync.Pool }

// GetRecords returns a slice of capacity at least n.
func (rp *recordPool) GetRecords(n int) []kgo.Record {
	if v, ok := rp.p.Get().(*[]kgo.Record); ok && cap(*v) >= n {
		return (*v)[:n]
	}
	return make([]kgo.Record, n)
}

// PutRecords takes back a slice the client is done with.
func (rp *recordPool) PutRecords(s []kgo.Record) { rp.p.Put(&s) }
