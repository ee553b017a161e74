package perf

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ProduceConfig says what a produce run sends. Zero values take the default
// written on each field, except Acks, whose zero is acks=0.
type ProduceConfig struct {
	// Brokers are the bootstrap addresses. Required.
	Brokers []string
	// Topic is produced to. Required.
	Topic string
	// RecordSize is the value size in bytes (no key). Default 100.
	RecordSize int
	// Records stops the run after this many records in all; Duration stops it
	// after that long. One of the two is required; the first reached wins.
	Records  int64
	Duration time.Duration
	// Rate is the target records/s over all producers; 0 is unthrottled.
	Rate float64
	// Acks is -1 (all), 0 or 1.
	Acks int
	// Compression is none, gzip, snappy, lz4 or zstd. Default none.
	Compression string
	// BatchBytes is the largest record batch (batch.size). Default 16384.
	BatchBytes int32
	// Linger is how long a partition waits to fill a batch (linger.ms). Default 0.
	Linger time.Duration
	// Partitions, when positive, creates the topic with this many partitions
	// (replication factor 1) if it does not exist yet.
	Partitions int32
	// Producers is how many clients produce in parallel, each with its own
	// connections. Default 1.
	Producers int
	// MaxInFlight is how many produce requests a client may have outstanding
	// on one connection (max.in.flight.requests.per.connection). Default 5,
	// as Kafka's producer.
	MaxInFlight int
	// Stamp writes the send time (Unix ns, 8 bytes big-endian) at the start
	// of every value, for end-to-end latency; RecordSize must be at least 8.
	// The report then has no acknowledgement latency.
	Stamp bool
	// Progress, when set, gets a line every ProgressEvery (default 5s).
	Progress      io.Writer
	ProgressEvery time.Duration
	// OnProgress, when set, is called every ProgressEvery with the totals
	// so far, on a goroutine the run owns and stops before it returns.
	OnProgress func(Progress)
	// ClientOpts are appended to every client's options (tests, TLS, ...).
	ClientOpts []kgo.Opt
}

func (c *ProduceConfig) ensureDefaults() {
	if c.RecordSize == 0 {
		c.RecordSize = 100
	}
	if c.Compression == "" {
		c.Compression = "none"
	}
	if c.BatchBytes == 0 {
		c.BatchBytes = 16384
	}
	if c.Producers == 0 {
		c.Producers = 1
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = 5
	}
	if c.ProgressEvery == 0 {
		c.ProgressEvery = 5 * time.Second
	}
}

func (c *ProduceConfig) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(c.Brokers) == 0 {
		bad("no bootstrap brokers")
	}
	if c.Topic == "" {
		bad("no topic")
	}
	if c.RecordSize < 0 || (c.Stamp && c.RecordSize < 8) {
		bad("record size %d: must be at least %d", c.RecordSize, map[bool]int{true: 8, false: 0}[c.Stamp])
	}
	if c.Records <= 0 && c.Duration <= 0 {
		bad("give a record count or a duration")
	}
	if c.Rate < 0 {
		bad("rate %v: must not be negative", c.Rate)
	}
	if c.Acks != -1 && c.Acks != 0 && c.Acks != 1 {
		bad("acks %d: want -1, 0 or 1", c.Acks)
	}
	if _, err := codec(c.Compression); err != nil {
		errs = append(errs, err)
	}
	if c.BatchBytes < 0 || c.Linger < 0 || c.Partitions < 0 || c.Producers < 0 || c.MaxInFlight < 0 {
		bad("batch size, linger, partitions, producers and max in flight must not be negative")
	}
	return errors.Join(errs...)
}

// codec maps a compression name to franz-go's codec.
func codec(name string) (kgo.CompressionCodec, error) {
	switch name {
	case "none":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("compression %q: want none, gzip, snappy, lz4 or zstd", name)
}

func acksOpt(acks int) kgo.Acks {
	switch acks {
	case 0:
		return kgo.NoAck()
	case 1:
		return kgo.LeaderAck()
	}
	return kgo.AllISRAcks()
}

// Produce runs producers until the record count or duration is reached, waits
// for every outstanding record, and reports throughput and acknowledgement
// latency (from the Produce call to the broker's answer; with acks=0, to the
// write). Cancelling ctx ends the run early and reports what was done.
func Produce(ctx context.Context, cfg ProduceConfig) (Report, error) {
	cfg.ensureDefaults()
	if err := cfg.validate(); err != nil {
		return Report{}, fmt.Errorf("produce config: %w", err)
	}
	if cfg.Partitions > 0 {
		if err := EnsureTopic(ctx, cfg.Brokers, cfg.Topic, cfg.Partitions, cfg.ClientOpts...); err != nil {
			return Report{}, err
		}
	}
	comp, _ := codec(cfg.Compression)
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ClientID("tributary-perf"),
		kgo.DefaultProduceTopic(cfg.Topic),
		kgo.RequiredAcks(acksOpt(cfg.Acks)),
		// Idempotence needs acks=all; perf measures the acks asked for, as
		// Kafka's producer perf test does with enable.idempotence=false.
		kgo.DisableIdempotentWrite(),
		kgo.MaxProduceRequestsInflightPerBroker(cfg.MaxInFlight),
		kgo.ProducerBatchCompression(comp),
		kgo.ProducerBatchMaxBytes(cfg.BatchBytes),
		kgo.ProducerLinger(cfg.Linger),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()),
	}
	opts = append(opts, cfg.ClientOpts...)

	var c counters
	stop := startProgress(cfg.Progress, cfg.OnProgress, cfg.ProgressEvery, "produce", &c)
	defer stop()

	runCtx := ctx
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	workers := make([]*producer, cfg.Producers)
	for i := range workers {
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			for _, w := range workers[:i] {
				w.cl.Close()
			}
			return Report{}, fmt.Errorf("create producer for %v: %w", cfg.Brokers, err)
		}
		workers[i] = newProducer(cl, &cfg, &c, i)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i, w := range workers {
		n := int64(0)
		if cfg.Records > 0 {
			n = cfg.Records / int64(cfg.Producers)
			if int64(i) < cfg.Records%int64(cfg.Producers) {
				n++
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(runCtx, ctx, n, cfg.Rate/float64(cfg.Producers))
		}()
	}
	wg.Wait()
	var h Histogram
	for _, w := range workers {
		// Flush waits for every record's promise; a cancelled ctx stops waiting.
		_ = w.cl.Flush(ctx)
		w.cl.Close()
		w.mu.Lock()
		h.Merge(&w.hist)
		w.mu.Unlock()
	}
	elapsed := time.Since(start)
	stop()
	return newReport("produce", c.records.Load(), c.bytes.Load(), c.errs.Load(), elapsed, &h), nil
}

// producer is one client of a produce run. Records are pooled: the promise
// puts each back once the client is done with it, so a long run allocates
// no record per send.
type producer struct {
	cl      *kgo.Client
	cfg     *ProduceConfig
	c       *counters
	payload []byte // random letters; unstamped values are windows into it
	pool    sync.Pool
	promise func(*kgo.Record, error)

	mu   sync.Mutex // guards hist: promises run on the client's goroutine, Produce reads at the end
	hist Histogram
}

func newProducer(cl *kgo.Client, cfg *ProduceConfig, c *counters, seed int) *producer {
	p := &producer{cl: cl, cfg: cfg, c: c}
	// Letters as Kafka's perf tool uses, varied so compression sees realistic input.
	rng := rand.New(rand.NewPCG(uint64(seed), 42))
	p.payload = make([]byte, cfg.RecordSize+4096)
	for i := range p.payload {
		p.payload[i] = 'A' + byte(rng.IntN(26))
	}
	p.pool.New = func() any { return new(kgo.Record) }
	p.promise = p.done
	return p
}

func (p *producer) done(r *kgo.Record, err error) {
	switch {
	case err != nil:
		p.c.errs.Add(1)
	case p.cfg.Stamp:
		// End-to-end latency is measured where the record is read; skipping
		// the acknowledgement latency saves a clock read per record.
		p.c.records.Add(1)
		p.c.bytes.Add(int64(len(r.Value)))
	default:
		lat := time.Since(r.Timestamp)
		p.mu.Lock()
		p.hist.Record(lat)
		p.mu.Unlock()
		p.c.records.Add(1)
		p.c.bytes.Add(int64(len(r.Value)))
		p.c.latSum.Add(int64(lat))
		p.c.latN.Add(1)
	}
	v := r.Value
	*r = kgo.Record{}
	if p.cfg.Stamp {
		r.Value = v[:cap(v)] // the stamped value buffer is the record's own
	}
	p.pool.Put(r)
}

// run produces n records (0: until runCtx is done) at rate records/s (0: as
// fast as the client takes them). Records carry sendCtx, not runCtx: the end of
// a timed run must not fail the records still buffered.
func (p *producer) run(runCtx, sendCtx context.Context, n int64, rate float64) {
	lim := NewLimiter(rate, max(1, int(rate/100)))
	size := p.cfg.RecordSize
	window := len(p.payload) - size
	for i := int64(0); n == 0 || i < n; i++ {
		now, err := lim.Wait(runCtx)
		if err != nil {
			return
		}
		if now.IsZero() {
			now = time.Now()
		}
		r := p.pool.Get().(*kgo.Record)
		if p.cfg.Stamp {
			if cap(r.Value) < size {
				r.Value = make([]byte, size)
				copy(r.Value, p.payload)
			}
			r.Value = r.Value[:size]
			r.Timestamp = now
			binary.BigEndian.PutUint64(r.Value, uint64(now.UnixNano()))
		} else {
			off := int(i*31) % (window + 1)
			r.Value = p.payload[off : off+size]
			r.Timestamp = now
		}
		p.cl.Produce(sendCtx, r, p.promise)
	}
}
