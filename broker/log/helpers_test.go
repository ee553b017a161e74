package log

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/tributary-io/tributary/broker/record"
)

// fakeClock is a settable clock for WithClock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.UnixMilli(1_700_000_000_000)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) Ms() int64 { return c.Now().UnixMilli() }

// quietLogger drops log output unless a test runs with -v.
func quietLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(testWriter{}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type testWriter struct{}

func (testWriter) Write(p []byte) (int, error) { fmt.Print(string(p)); return len(p), nil }

// testConfig is a small-segment config for tests.
func testConfig() Config {
	c := DefaultConfig()
	c.SegmentBytes = 4096
	c.IndexIntervalBytes = 256
	return c
}

// openTest opens a log in dir with the fake clock.
func openTest(tb testing.TB, dir string, cfg Config, clk *fakeClock) *Log {
	tb.Helper()
	l, err := Open(dir, cfg, WithClock(clk.Now), WithLogger(quietLogger()))
	if err != nil {
		tb.Fatalf("Open(%s): %v", dir, err)
	}
	return l
}

// kv is one record for a test batch; a nil value is a tombstone.
type kv struct {
	key, value []byte
	ts         int64
}

// batchOf builds an uncompressed producer batch (baseOffset 0) of records.
func batchOf(tb testing.TB, recs ...kv) []byte {
	tb.Helper()
	return buildBatch(tb, record.None, -1, recs...)
}

// buildBatch builds a batch with a codec and producer id (-1 for none).
func buildBatch(tb testing.TB, c record.Compression, pid int64, recs ...kv) []byte {
	tb.Helper()
	if len(recs) == 0 {
		tb.Fatal("buildBatch: no records")
	}
	base := recs[0].ts
	rs := make([]record.Record, len(recs))
	for i, r := range recs {
		rs[i] = record.Record{OffsetDelta: int32(i), TimestampDelta: r.ts - base, Key: r.key, Value: r.value}
	}
	spec := record.BatchSpec{Compression: c, BaseTimestamp: base, ProducerID: pid, ProducerEpoch: -1, BaseSequence: -1}
	if pid >= 0 {
		spec.ProducerEpoch, spec.BaseSequence = 0, 0
	}
	b, err := record.Build(spec, rs)
	if err != nil {
		tb.Fatalf("record.Build: %v", err)
	}
	return b
}

// valueBatch builds a batch of n records with values of size bytes, timestamp ts.
func valueBatch(tb testing.TB, n, size int, ts int64) []byte {
	tb.Helper()
	recs := make([]kv, n)
	for i := range recs {
		v := bytes.Repeat([]byte{byte('a' + i%26)}, size)
		recs[i] = kv{key: fmt.Appendf(nil, "k%d", i), value: v, ts: ts}
	}
	return batchOf(tb, recs...)
}

// gotRecord is a record read back from the log.
type gotRecord struct {
	offset     int64
	key, value string
	null       bool // value was null
	ts         int64
}

// readAll reads every record from the start offset to the end, checking that
// batches come back whole, CRC-valid and in offset order.
func readAll(tb testing.TB, l *Log) []gotRecord {
	tb.Helper()
	return readRange(tb, l, l.StartOffset(), l.EndOffset())
}

// readRange reads records in [from, upTo) with small reads.
func readRange(tb testing.TB, l *Log, from, upTo int64) []gotRecord {
	tb.Helper()
	var out []gotRecord
	next := from
	prevLast := int64(-1)
	for next < l.EndOffset() && next < upTo {
		res, err := l.Read(next, 1500, upTo, true)
		if err != nil {
			tb.Fatalf("Read(%d): %v", next, err)
		}
		b, err := res.AppendBytes(nil)
		res.Release()
		if err != nil {
			tb.Fatalf("AppendBytes: %v", err)
		}
		if len(b) == 0 {
			break
		}
		for len(b) > 0 {
			batch, rest, h, err := record.Next(b)
			if err != nil {
				tb.Fatalf("read at %d: bad batch: %v", next, err)
			}
			if _, err := record.Validate(batch); err != nil {
				tb.Fatalf("read at %d: %v", next, err)
			}
			if h.BaseOffset <= prevLast {
				tb.Fatalf("read at %d: batch %d after %d", next, h.BaseOffset, prevLast)
			}
			prevLast = h.LastOffset()
			recs, err := record.Records(batch)
			if err != nil {
				tb.Fatalf("records at %d: %v", h.BaseOffset, err)
			}
			for _, r := range recs {
				off := h.BaseOffset + int64(r.OffsetDelta)
				if off < from {
					continue
				}
				ts := h.BaseTimestamp + r.TimestampDelta
				if h.LogAppendTime() {
					ts = h.MaxTimestamp
				}
				out = append(out, gotRecord{offset: off, key: string(r.Key), value: string(r.Value), null: r.Value == nil, ts: ts})
			}
			b = rest
		}
		if res.NextOffset <= next {
			tb.Fatalf("Read(%d) returned NextOffset %d", next, res.NextOffset)
		}
		next = res.NextOffset
	}
	return out
}

// mustAppend appends and fails the test on error.
func mustAppend(tb testing.TB, l *Log, b []byte) AppendInfo {
	tb.Helper()
	info, err := l.Append(b, 1)
	if err != nil {
		tb.Fatalf("Append: %v", err)
	}
	return info
}

// segmentInfo describes a segment for tests.
type segmentInfo struct {
	base, size, next, maxTs int64
}

// segmentInfos snapshots the segment list.
func (l *Log) segmentInfos() []segmentInfo {
	var out []segmentInfo
	for _, s := range l.list() {
		s.mu.RLock()
		out = append(out, segmentInfo{base: s.base, size: s.size, next: s.next, maxTs: s.maxTs})
		s.mu.RUnlock()
	}
	return out
}

// crash simulates a process crash: files are closed without flushing indexes
// or writing the checkpoint. The Log must not be used afterwards.
func (l *Log) crash() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed.Store(true)
	for _, s := range l.list() {
		s.file.release()
	}
}

// truncateFile cuts a file to size bytes.
func truncateFile(path string, size int64) error { return os.Truncate(path, size) }
