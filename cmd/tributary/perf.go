package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"strings"
	"time"

	"github.com/tributary-io/tributary/platform/perf"
)

// runPerf measures a broker from the outside, like Kafka's perf-test tools:
// `perf produce`, `perf consume` and `perf end-to-end`. Progress goes to
// stderr; the final report to stdout, as text or with --output json.
func runPerf(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		perfUsage(c.stderr)
		if len(args) == 0 {
			return usageErrorf("want produce, consume or end-to-end")
		}
		return flag.ErrHelp
	}
	mode := args[0]
	if mode != "produce" && mode != "consume" && mode != "end-to-end" {
		return usageErrorf("unknown mode %q: want produce, consume or end-to-end", mode)
	}
	fs := newFlagSet(c, "perf "+mode, "perf "+mode+" [flags]")
	cf := addClientFlags(fs, c)
	pf := addPerfFlags(fs, mode)
	rest, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	if err := cf.check(); err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErrorf("unexpected argument %q", rest[0])
	}
	if err := pf.check(mode); err != nil {
		return err
	}
	bar := pf.newBar(c, mode)
	var rep perf.Report
	switch mode {
	case "produce":
		rep, err = perf.Produce(ctx, pf.produceConfig(cf, bar))
	case "consume":
		rep, err = perf.Consume(ctx, pf.consumeConfig(cf, bar))
	default:
		rep, err = perf.EndToEnd(ctx, perf.EndToEndConfig{
			Produce: pf.produceConfig(cf, bar), Consumers: pf.consumers, Warmup: pf.warmup,
		})
	}
	bar.finish(rep)
	if err != nil && rep.Mode == "" {
		return err
	}
	if cf.json() {
		if werr := rep.WriteJSON(c.stdout); werr != nil {
			return werr
		}
	} else if werr := rep.WriteText(c.stdout); werr != nil {
		return werr
	}
	if err == nil && rep.Records == 0 && ctx.Err() == nil {
		return errors.New("no record was measured")
	}
	return err
}

func perfUsage(w io.Writer) {
	_, _ = io.WriteString(w, `Usage: tributary perf <mode> [flags]

Modes:
  produce     send records as fast as asked and report throughput and ack latency
  consume     read a topic from its start and report throughput
  end-to-end  produce at a rate and read back; latency from a timestamp in each record

Run 'tributary perf <mode> -h' for its flags.
`)
}

// perfFlags are the flags of the perf modes; each mode registers those it uses.
type perfFlags struct {
	topic                     string
	recordSize                int
	records                   int64
	duration, linger, warmup  time.Duration
	idle                      time.Duration
	progress                  time.Duration
	progressMode              *string
	rate                      float64
	acks, compression         string
	batchBytes, fetchMaxBytes int
	partitions                int
	producers, consumers      int
	maxInFlight               int
}

func addPerfFlags(fs *flag.FlagSet, mode string) *perfFlags {
	f := &perfFlags{}
	fs.StringVar(&f.topic, "topic", "perf", "`topic` to use")
	fs.Int64Var(&f.records, "num-records", 0, "stop after this many records (0: see --duration)")
	fs.DurationVar(&f.duration, "duration", 0, "stop after this long (0: see --num-records)")
	f.progressMode = addProgressFlag(fs)
	fs.DurationVar(&f.progress, "progress-interval", 5*time.Second,
		"how often a progress line is printed when stderr is not a terminal (--progress always)")
	switch mode {
	case "consume":
		fs.IntVar(&f.consumers, "consumers", 1, "consumer clients in parallel, partitions dealt round robin")
		fs.IntVar(&f.fetchMaxBytes, "fetch-max-bytes", 50<<20, "largest fetch response in bytes")
		fs.DurationVar(&f.idle, "timeout", 10*time.Second, "end the run when no record arrives for this long")
		return f
	case "end-to-end":
		fs.IntVar(&f.consumers, "consumers", 1, "consumer clients in parallel, partitions dealt round robin")
		fs.DurationVar(&f.warmup, "warmup", time.Second, "leave records sent in the first part of the run out of the latency figures")
	}
	fs.IntVar(&f.recordSize, "record-size", 100, "record value size in `bytes`")
	fs.Float64Var(&f.rate, "throughput", 0, "target `records/s` over all producers (0: unthrottled)")
	fs.StringVar(&f.acks, "acks", "1", "acknowledgements to wait for: all (-1), 1 or 0")
	fs.StringVar(&f.compression, "compression", "none", "batch compression: none, gzip, snappy, lz4 or zstd")
	fs.IntVar(&f.batchBytes, "batch-size", 16384, "largest record batch in `bytes` (batch.size)")
	fs.DurationVar(&f.linger, "linger", 0, "how long to wait to fill a batch (linger.ms)")
	fs.IntVar(&f.partitions, "partitions", 1, "create the topic with this many partitions if it does not exist (0: never create)")
	fs.IntVar(&f.producers, "producers", 1, "producer clients in parallel")
	fs.IntVar(&f.maxInFlight, "max-in-flight", 5, "produce requests outstanding per connection (max.in.flight.requests.per.connection)")
	return f
}

func (f *perfFlags) check(mode string) error {
	if f.topic == "" {
		return usageErrorf("--topic must not be empty")
	}
	if f.records < 0 || f.duration < 0 || f.progress <= 0 {
		return usageErrorf("--num-records and --duration must not be negative, --progress-interval must be positive")
	}
	if err := checkProgress(*f.progressMode); err != nil {
		return err
	}
	if mode != "consume" && f.records == 0 && f.duration == 0 {
		return usageErrorf("give --num-records or --duration")
	}
	if mode == "consume" {
		if f.consumers < 1 || f.fetchMaxBytes < 1 || f.idle <= 0 {
			return usageErrorf("--consumers, --fetch-max-bytes and --timeout must be positive")
		}
		return nil
	}
	if _, err := parseAcks(f.acks); err != nil {
		return err
	}
	if f.recordSize < 0 || (mode == "end-to-end" && f.recordSize < 8) {
		return usageErrorf("--record-size %d: too small (end-to-end needs 8 bytes for the timestamp)", f.recordSize)
	}
	if f.rate < 0 || f.batchBytes < 1 || f.linger < 0 || f.partitions < 0 || f.producers < 1 || f.maxInFlight < 1 || f.warmup < 0 {
		return usageErrorf("--throughput, --linger, --partitions and --warmup must not be negative; --batch-size, --producers and --max-in-flight must be positive")
	}
	if mode == "end-to-end" && f.consumers < 1 {
		return usageErrorf("--consumers must be positive")
	}
	return nil
}

// parseAcks accepts Kafka's spellings of acks.
func parseAcks(s string) (int, error) {
	switch s {
	case "all", "-1":
		return -1, nil
	case "1":
		return 1, nil
	case "0":
		return 0, nil
	}
	return 0, usageErrorf("--acks %q: want all, -1, 1 or 0", s)
}

func (f *perfFlags) produceConfig(cf *clientFlags, bar *perfBar) perf.ProduceConfig {
	acks, _ := parseAcks(f.acks)
	return perf.ProduceConfig{
		Brokers: cf.seeds(), Topic: f.topic, RecordSize: f.recordSize,
		Records: f.records, Duration: f.duration, Rate: f.rate, Acks: acks,
		Compression: f.compression, BatchBytes: int32(f.batchBytes), Linger: f.linger,
		Partitions: int32(f.partitions), Producers: f.producers, MaxInFlight: f.maxInFlight,
		OnProgress: bar.update(), ProgressEvery: bar.every(f.progress),
	}
}

func (f *perfFlags) consumeConfig(cf *clientFlags, bar *perfBar) perf.ConsumeConfig {
	return perf.ConsumeConfig{
		Brokers: cf.seeds(), Topic: f.topic, Records: f.records, Duration: f.duration,
		Consumers: f.consumers, FetchMaxBytes: int32(f.fetchMaxBytes), Idle: f.idle,
		OnProgress: bar.update(), ProgressEvery: bar.every(f.progress),
	}
}

// perfBar shows a run's progress: records against --num-records, or time
// against --duration, with the rates of the last interval as the note.
type perfBar struct {
	p      *progress
	byTime bool // the bar counts seconds, not records
}

func (f *perfFlags) newBar(c *cli, mode string) *perfBar {
	total := f.records
	byTime := total == 0 && f.duration >= 2*time.Second
	if byTime {
		total = int64(f.duration / time.Second)
	}
	p := newProgress(c, *f.progressMode, "perf "+mode, total)
	if p == nil {
		return nil
	}
	p.unit = " records"
	if byTime {
		p.unit = "s"
	}
	if !p.tty {
		p.every = f.progress // a line per --progress-interval
	}
	return &perfBar{p: p, byTime: byTime}
}

// update is the run's OnProgress, or nil when nothing is shown.
func (b *perfBar) update() func(perf.Progress) {
	if b == nil {
		return nil
	}
	return func(pr perf.Progress) {
		done := pr.Records
		if b.byTime {
			done = int64(pr.Elapsed / time.Second)
		}
		// The line is "mode: N records, rates...": the bar has the count.
		_, note, _ := strings.Cut(pr.Line, ": ")
		if _, rates, ok := strings.Cut(note, " records, "); ok {
			note = rates
		}
		b.p.Set(done, note)
	}
}

// every is how often the run reports: often enough for a bar to move on a
// terminal, every --progress-interval for lines.
func (b *perfBar) every(interval time.Duration) time.Duration {
	if b != nil && b.p.tty {
		return 250 * time.Millisecond
	}
	return interval
}

// finish shows the run's final count and ends the bar.
func (b *perfBar) finish(rep perf.Report) {
	if b == nil {
		return
	}
	done := rep.Records
	if b.byTime {
		done = int64(rep.Seconds)
	}
	b.p.Set(done, "done")
	b.p.Finish()
}
