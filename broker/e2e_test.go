package broker_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/broker"
)

// recordsPerCombo is how many records each codec × acks combination writes and
// reads back (the acceptance figure; it does not shrink under -short).
const recordsPerCombo = 100_000

// baseTime is the timestamp of record 0; record i is stamped baseTime + i ms.
var baseTime = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startNode starts a broker on a free loopback port over dir.
func startNode(t *testing.T, dir string) (*broker.Broker, string) {
	t.Helper()
	b, err := broker.New(broker.Config{
		NodeID:          1,
		DataDir:         dir,
		Listeners:       []string{"127.0.0.1:0"},
		NumPartitions:   3,
		Logger:          quietLogger(),
		CleanerInterval: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return b, b.Addrs()[0].String()
}

func stopNode(t *testing.T, b *broker.Broker) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

type codecCase struct {
	name  string
	codec kgo.CompressionCodec
	attr  uint8 // the batch attribute the records must come back with
}

var codecCases = []codecCase{
	{"none", kgo.NoCompression(), 0},
	{"gzip", kgo.GzipCompression(), 1},
	{"snappy", kgo.SnappyCompression(), 2},
	{"lz4", kgo.Lz4Compression(), 3},
	{"zstd", kgo.ZstdCompression(), 4},
}

var acksCases = []struct {
	name string
	acks kgo.Acks
}{
	{"acks0", kgo.NoAck()},
	{"acks1", kgo.LeaderAck()},
	{"acksAll", kgo.AllISRAcks()},
}

// padding makes values about 100 bytes, compressible like real payloads.
const padding = "lorem-ipsum-dolor-sit-amet-consectetur-adipiscing-elit-sed-do-eiusmod-tempor-"

// recordFor is record i of a combination: key, ~100-byte value, two headers and
// a timestamp, all derived from i so the consumer can check them without state.
func recordFor(combo string, i int) *kgo.Record {
	return &kgo.Record{
		Key:   []byte("key-" + strconv.Itoa(i%997)),
		Value: []byte(fmt.Sprintf("value-%08d-%s", i, padding)),
		Headers: []kgo.RecordHeader{
			{Key: "seq", Value: []byte(strconv.Itoa(i))},
			{Key: "combo", Value: []byte(combo)},
		},
		Timestamp: baseTime.Add(time.Duration(i) * time.Millisecond),
	}
}

// produceAll writes records [from, to) of a combination to topic.
func produceAll(t *testing.T, addr, topic string, cc codecCase, acks kgo.Acks, from, to int) {
	t.Helper()
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(addr),
		kgo.DefaultProduceTopic(topic),
		kgo.AllowAutoTopicCreation(),
		kgo.ProducerBatchCompression(cc.codec),
		kgo.RequiredAcks(acks),
		kgo.DisableIdempotentWrite(),
		kgo.ProducerLinger(5*time.Millisecond),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
	)
	for i := from; i < to; i++ {
		cl.Produce(ctx, recordFor(topic, i), func(_ *kgo.Record, err error) {
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
	if firstErr != nil {
		t.Fatalf("produce: %v", firstErr)
	}
}

// consumeAll reads topic from the start until it has want records and checks
// every record is exactly the one written: key, value, headers, timestamp,
// codec, each once, with offsets dense and records in produce order per partition.
func consumeAll(t *testing.T, addr, topic string, cc codecCase, want int) {
	t.Helper()
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(addr),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(500*time.Millisecond),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	seen := make([]bool, want)
	lastSeq := map[int32]int{}
	nextOffset := map[int32]int64{}
	got, withCodec := 0, 0
	for got < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records before the deadline", got, want)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		for it := fs.RecordIter(); !it.Done(); {
			r := it.Next()
			if len(r.Headers) != 2 || r.Headers[0].Key != "seq" {
				t.Fatalf("record at %d/%d has headers %v", r.Partition, r.Offset, r.Headers)
			}
			i, err := strconv.Atoi(string(r.Headers[0].Value))
			if err != nil || i < 0 || i >= want {
				t.Fatalf("record at %d/%d: bad seq %q", r.Partition, r.Offset, r.Headers[0].Value)
			}
			exp := recordFor(topic, i)
			switch {
			case seen[i]:
				t.Fatalf("record %d read twice (partition %d offset %d)", i, r.Partition, r.Offset)
			case !bytes.Equal(r.Key, exp.Key) || !bytes.Equal(r.Value, exp.Value):
				t.Fatalf("record %d: key %q value %q", i, r.Key, r.Value)
			case string(r.Headers[1].Value) != topic:
				t.Fatalf("record %d: header %v", i, r.Headers[1])
			case !r.Timestamp.Equal(exp.Timestamp):
				t.Fatalf("record %d: timestamp %v, want %v", i, r.Timestamp, exp.Timestamp)
			}
			if last, ok := lastSeq[r.Partition]; ok && i <= last {
				t.Fatalf("partition %d: record %d after %d, out of produce order", r.Partition, i, last)
			}
			if r.Offset != nextOffset[r.Partition] {
				t.Fatalf("partition %d: offset %d, want %d (dense offsets)", r.Partition, r.Offset, nextOffset[r.Partition])
			}
			if r.Attrs.CompressionType() == cc.attr {
				withCodec++
			}
			seen[i] = true
			lastSeq[r.Partition] = i
			nextOffset[r.Partition] = r.Offset + 1
			got++
		}
	}
	if withCodec*100 < want*99 {
		t.Fatalf("only %d of %d records came back compressed with %s", withCodec, want, cc.name)
	}
}

// TestProduceConsumeEveryCodecAndAcks writes 100,000 records with keys, headers
// and timestamps through kgo for each codec × acks combination, reads them back
// exactly, then restarts the broker and reads every topic again, and finally
// appends after the restart.
func TestProduceConsumeEveryCodecAndAcks(t *testing.T) {
	dir := t.TempDir()
	b, addr := startNode(t, dir)
	type combo struct {
		topic string
		cc    codecCase
		acks  kgo.Acks
	}
	var combos []combo
	for _, cc := range codecCases {
		for _, ac := range acksCases {
			combos = append(combos, combo{topic: "e2e-" + cc.name + "-" + ac.name, cc: cc, acks: ac.acks})
		}
	}
	for _, c := range combos {
		t.Run(c.topic, func(t *testing.T) {
			start := time.Now()
			produceAll(t, addr, c.topic, c.cc, c.acks, 0, recordsPerCombo)
			produced := time.Since(start)
			consumeAll(t, addr, c.topic, c.cc, recordsPerCombo)
			t.Logf("%d records: produce %v, consume %v", recordsPerCombo, produced.Round(time.Millisecond), (time.Since(start) - produced).Round(time.Millisecond))
		})
	}
	if t.Failed() {
		stopNode(t, b)
		return
	}

	stopNode(t, b)
	b, addr = startNode(t, dir)
	defer stopNode(t, b)
	for _, c := range combos {
		t.Run("after-restart/"+c.topic, func(t *testing.T) {
			consumeAll(t, addr, c.topic, c.cc, recordsPerCombo)
		})
	}
	t.Run("append-after-restart", func(t *testing.T) {
		c := combos[len(combos)-1]
		produceAll(t, addr, c.topic, c.cc, c.acks, recordsPerCombo, recordsPerCombo+1000)
		consumeAll(t, addr, c.topic, c.cc, recordsPerCombo+1000)
	})
}
