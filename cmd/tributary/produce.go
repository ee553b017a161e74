package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// maxLine bounds one input line (one record); Kafka's default
// max.message.bytes is about 1 MiB, so 16 MiB leaves room for raised limits.
const maxLine = 16 << 20

func runProduce(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "produce", "produce --topic T [--file F] [--key-separator S] [--header k=v]...")
	cf := addClientFlags(fs, c)
	topic := fs.String("topic", "", "topic to produce to (required)")
	file := fs.String("file", "", "read lines from this `file` instead of stdin")
	keySep := fs.String("key-separator", "", "split each line at the first `separator` into key and value; lines without it get a null key")
	var headers kvList
	fs.Var(&headers, "header", "header `name=value` added to every record, repeatable")
	acks := fs.String("acks", "all", "acknowledgements to wait for: all, 1 or 0")
	partition := fs.Int("partition", -1, "produce every record to this partition (-1: hash the key, or spread keyless records)")
	compression := fs.String("compression", "none", "batch compression: none, gzip, snappy, lz4 or zstd")
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
	if *topic == "" {
		return usageErrorf("--topic is required")
	}
	opts, err := produceOptions(*topic, *acks, *compression, *partition)
	if err != nil {
		return err
	}
	opts = append(opts, kgo.RecordDeliveryTimeout(cf.timeout))

	in := c.stdin
	if *file != "" {
		f, err := os.Open(*file)
		if err != nil {
			return fmt.Errorf("open input: %w", err)
		}
		defer f.Close()
		in = f
	}
	cl, err := cf.newClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()

	var hdrs []kgo.RecordHeader
	for _, k := range headers.keys {
		hdrs = append(hdrs, kgo.RecordHeader{Key: k, Value: []byte(headers.values[k])})
	}
	n, err := produceLines(ctx, cl, in, *keySep, hdrs, int32(*partition))
	if cf.structured() {
		if werr := cf.write(c.stdout, struct {
			Topic   string `json:"topic"`
			Records int64  `json:"records"`
		}{*topic, n}); werr != nil && err == nil {
			err = werr
		}
	} else {
		fmt.Fprintf(c.stdout, "produced %d records to %q\n", n, *topic)
	}
	return err
}

// produceOptions turns the produce flags into client options.
func produceOptions(topic, acks, compression string, partition int) ([]kgo.Opt, error) {
	// Like kafka-console-producer and kcat, let the broker create a missing
	// topic when its auto.create.topics.enable allows it.
	opts := []kgo.Opt{kgo.DefaultProduceTopic(topic), kgo.AllowAutoTopicCreation()}
	switch acks {
	case "all", "-1":
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	case "1":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	case "0":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	default:
		return nil, usageErrorf("--acks %q: want all, 1 or 0", acks)
	}
	codecs := map[string]kgo.CompressionCodec{
		"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(), "snappy": kgo.SnappyCompression(),
		"lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression(),
	}
	codec, ok := codecs[compression]
	if !ok {
		return nil, usageErrorf("--compression %q: want none, gzip, snappy, lz4 or zstd", compression)
	}
	opts = append(opts, kgo.ProducerBatchCompression(codec))
	if partition >= 0 {
		opts = append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	} else if partition != -1 {
		return nil, usageErrorf("--partition %d: want a partition number or -1", partition)
	}
	return opts, nil
}

// produceLines produces one record per line of in and waits until all are
// acknowledged. It stops reading at the first failed record and returns the
// number of records the broker acknowledged.
func produceLines(ctx context.Context, cl *kgo.Client, in io.Reader, keySep string, headers []kgo.RecordHeader, partition int32) (int64, error) {
	var (
		mu       sync.Mutex
		acked    int64
		firstErr error
	)
	failed := func() bool { mu.Lock(); defer mu.Unlock(); return firstErr != nil }
	promise := func(_ *kgo.Record, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			return
		}
		acked++
	}

	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	var readErr error
	for sc.Scan() && !failed() {
		line := sc.Bytes()
		r := &kgo.Record{Headers: headers, Partition: partition}
		if keySep != "" {
			if k, v, ok := strings.Cut(string(line), keySep); ok {
				r.Key, r.Value = []byte(k), []byte(v)
			} else {
				r.Value = append([]byte(nil), line...)
			}
		} else {
			r.Value = append([]byte(nil), line...)
		}
		cl.Produce(ctx, r, promise)
	}
	if err := sc.Err(); err != nil {
		readErr = fmt.Errorf("read input: %w", err)
	}
	if err := cl.Flush(ctx); err != nil && readErr == nil {
		readErr = fmt.Errorf("flush: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	var prodErr error
	if firstErr != nil {
		prodErr = fmt.Errorf("produce: %w", firstErr)
	}
	return acked, errors.Join(prodErr, readErr)
}
