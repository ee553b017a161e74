package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

type consumeFlags struct {
	topic         string
	fromBeginning bool
	offset        int64
	timestamp     string
	group         string
	partition     int
	maxMessages   int64
	idle          time.Duration
	format        string
}

func runConsume(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "consume",
		"consume --topic T [--from-beginning | --offset N | --timestamp T] [--group G] [--partition P] [--max-messages N] [--timeout D] [--format F]")
	cf := addClientFlags(fs, c)
	var f consumeFlags
	fs.StringVar(&f.topic, "topic", "", "topic to consume (required)")
	fs.BoolVar(&f.fromBeginning, "from-beginning", false, "start at the earliest offset (default: only new records)")
	fs.Int64Var(&f.offset, "offset", 0, "start at this offset; a negative N starts N records before the end")
	fs.StringVar(&f.timestamp, "timestamp", "", "start at the first record at or after this time (RFC 3339 or Unix milliseconds)")
	fs.StringVar(&f.group, "group", "", "consume as a member of this consumer group and commit its offsets; "+
		"the start flags apply only where the group has no committed offset")
	fs.IntVar(&f.partition, "partition", -1, "consume only this partition (not with --group)")
	fs.Int64Var(&f.maxMessages, "max-messages", 0, "exit after this many records (0: no limit)")
	fs.DurationVar(&f.idle, "timeout", 0, "exit when no record arrives for this long (0: wait until interrupted)")
	fs.StringVar(&f.format, "format", `%v\n`, `output template with %t %p %o %T %k %v %h %K %S, "json" for one JSON object per line, or "yaml" for one YAML document per record`)
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := cf.check(); err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErrorf("unexpected argument %q", rest[0])
	}
	opts, err := consumeOptions(fs, &f)
	if err != nil {
		return err
	}
	asJSON := f.format == "json" || cf.output == outputJSON
	asYAML := f.format == "yaml" || cf.output == outputYAML
	var tmpl recordFormat
	if !asJSON && !asYAML {
		if tmpl, err = parseRecordFormat(f.format); err != nil {
			return usageErrorf("--format: %v", err)
		}
	}
	cl, err := cf.newClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()

	out := bufio.NewWriterSize(c.stdout, 64<<10)
	n, err := consumeLoop(ctx, cl, f, func(r *kgo.Record) error {
		var buf []byte
		var err error
		switch {
		case asJSON:
			buf, err = appendJSONRecord(nil, r)
		case asYAML:
			buf, err = appendYAMLRecord(nil, r)
		default:
			buf = tmpl.append(nil, r)
		}
		if err != nil {
			return err
		}
		_, err = out.Write(buf)
		return err
	}, out.Flush)
	if f.group != "" {
		// Commit what was printed even after an interrupt, so the next run
		// with the same group continues where this one stopped.
		cctx, cancel := context.WithTimeout(context.Background(), cf.timeout)
		if cerr := cl.CommitUncommittedOffsets(cctx); cerr != nil && err == nil {
			err = fmt.Errorf("commit offsets of group %q: %w", f.group, cerr)
		}
		cancel()
	}
	fmt.Fprintf(c.stderr, "consumed %d records\n", n)
	return err
}

// consumeOptions turns the start, group and partition flags into client options.
func consumeOptions(fs *flag.FlagSet, f *consumeFlags) ([]kgo.Opt, error) {
	if f.topic == "" {
		return nil, usageErrorf("--topic is required")
	}
	if f.maxMessages < 0 {
		return nil, usageErrorf("--max-messages %d: must not be negative", f.maxMessages)
	}
	if f.idle < 0 {
		return nil, usageErrorf("--timeout %s: must not be negative", f.idle)
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	starts := 0
	for _, n := range []string{"from-beginning", "offset", "timestamp"} {
		if set[n] {
			starts++
		}
	}
	if starts > 1 {
		return nil, usageErrorf("give at most one of --from-beginning, --offset and --timestamp")
	}
	start := kgo.NewOffset().AtEnd()
	switch {
	case f.fromBeginning:
		start = kgo.NewOffset().AtStart()
	case set["offset"] && f.offset >= 0:
		start = kgo.NewOffset().At(f.offset)
	case set["offset"]:
		start = kgo.NewOffset().AtEnd().Relative(f.offset)
	case set["timestamp"]:
		ms, err := parseTimestamp(f.timestamp)
		if err != nil {
			return nil, usageErrorf("--timestamp: %v", err)
		}
		start = kgo.NewOffset().AfterMilli(ms)
	}
	switch {
	case f.group != "" && f.partition >= 0:
		return nil, usageErrorf("--partition cannot be used with --group: the group assigns partitions")
	case f.group != "":
		return []kgo.Opt{kgo.ConsumerGroup(f.group), kgo.ConsumeTopics(f.topic), kgo.ConsumeResetOffset(start)}, nil
	case f.partition >= 0:
		return []kgo.Opt{kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{f.topic: {int32(f.partition): start}})}, nil
	case f.partition != -1:
		return nil, usageErrorf("--partition %d: want a partition number", f.partition)
	default:
		return []kgo.Opt{kgo.ConsumeTopics(f.topic), kgo.ConsumeResetOffset(start)}, nil
	}
}

// parseTimestamp reads RFC 3339 text or a Unix time in milliseconds.
func parseTimestamp(s string) (int64, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return ms, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, fmt.Errorf("%q: want RFC 3339 (2024-05-01T12:00:00Z) or Unix milliseconds", s)
	}
	return t.UnixMilli(), nil
}

// consumeLoop polls until --max-messages records were handled, no record came
// for --timeout, or ctx is cancelled (an interrupt, which is not an error). It
// returns how many records it handled.
func consumeLoop(ctx context.Context, cl *kgo.Client, f consumeFlags, handle func(*kgo.Record) error, flush func() error) (int64, error) {
	var n int64
	for f.maxMessages == 0 || n < f.maxMessages {
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if f.idle > 0 {
			pctx, cancel = context.WithTimeout(ctx, f.idle)
		}
		max := -1
		if f.maxMessages > 0 {
			max = int(f.maxMessages - n)
		}
		fetches := cl.PollRecords(pctx, max)
		timedOut := f.idle > 0 && pctx.Err() != nil
		cancel()
		var fetchErr error
		fetches.EachError(func(topic string, p int32, err error) {
			if fetchErr == nil && !errors.Is(err, context.DeadlineExceeded) &&
				!errors.Is(err, context.Canceled) && !errors.Is(err, kgo.ErrClientClosed) {
				if topic == "" { // a client-wide error, such as failing to join the group
					fetchErr = err
				} else {
					fetchErr = fmt.Errorf("fetch %s/%d: %w", topic, p, err)
				}
			}
		})
		var handleErr error
		fetches.EachRecord(func(r *kgo.Record) {
			if handleErr == nil {
				if handleErr = handle(r); handleErr == nil {
					n++
				}
			}
		})
		if err := errors.Join(handleErr, fetchErr, flush()); err != nil {
			return n, err
		}
		if fetches.IsClientClosed() || ctx.Err() != nil {
			break // interrupted
		}
		if fetches.NumRecords() == 0 && timedOut {
			break // idle for --timeout
		}
	}
	return n, flush()
}
