package log

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary-io/tributary/broker/record"
)

// Reads, appends, retention, compaction, flushes and time lookups all run at
// once (under -race in CI). Every read must see whole, CRC-valid batches in
// offset order, starting with the batch that holds the offset asked for.
func TestConcurrentReadAppendCleanup(t *testing.T) {
	clk := newFakeClock()
	cfg := testConfig()
	cfg.CleanupPolicy = "compact,delete"
	cfg.SegmentBytes = 2048
	cfg.RetentionBytes = 16 << 10
	cfg.MinCleanableDirtyRatio = 0.01
	dir := t.TempDir()
	l := openTest(t, dir, cfg, clk)

	var wg sync.WaitGroup
	var done atomic.Bool
	errc := make(chan error, 16)
	report := func(err error) {
		select {
		case errc <- err:
		default:
		}
		done.Store(true)
	}

	batches := make([][]byte, 3000)
	for i := range batches {
		batches[i] = batchOf(t, kv{key: fmt.Appendf(nil, "k%d", i%40), value: fmt.Appendf(nil, "%d-%050d", i, i), ts: clk.Ms()})
	}
	wg.Add(1)
	go func() { // the one appender
		defer wg.Done()
		defer done.Store(true)
		for i, b := range batches {
			if done.Load() {
				return
			}
			if _, err := l.Append(b, 2); err != nil {
				report(fmt.Errorf("append %d: %w", i, err))
				return
			}
			if i%100 == 0 {
				clk.Advance(time.Second)
			}
		}
	}()
	for r := range 2 {
		wg.Add(1)
		go func() { // readers
			defer wg.Done()
			for i := 0; !done.Load(); i++ {
				start, end := l.StartOffset(), l.EndOffset()
				off := start + int64(i*7+r)%(end-start+1)
				res, err := l.Read(off, int64(100+i%3000), end, i%2 == 0)
				if errors.Is(err, ErrOffsetOutOfRange) {
					continue // retention moved the start meanwhile
				}
				if err != nil {
					report(fmt.Errorf("Read(%d): %w", off, err))
					return
				}
				b, err := res.AppendBytes(nil)
				res.Release()
				if err != nil {
					report(err)
					return
				}
				if err := checkBatches(b, off); err != nil {
					report(fmt.Errorf("Read(%d): %w", off, err))
					return
				}
				if i%50 == 0 {
					if _, _, _, err := l.OffsetForTimestamp(clk.Ms() - 1000); err != nil {
						report(err)
						return
					}
					l.MaxTimestamp()
					l.Size()
				}
			}
		}()
	}
	wg.Add(1)
	go func() { // the cleaner
		defer wg.Done()
		for !done.Load() {
			if err := l.maintain(); err != nil {
				report(fmt.Errorf("maintain: %w", err))
				return
			}
			if _, err := l.Compact(); err != nil {
				report(fmt.Errorf("compact: %w", err))
				return
			}
			if err := l.Sync(); err != nil {
				report(fmt.Errorf("sync: %w", err))
				return
			}
		}
	}()
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	if _, err := l.ApplyRetention(); err != nil {
		t.Fatal(err)
	}
	if l.Size() > cfg.RetentionBytes+2*cfg.SegmentBytes {
		t.Fatalf("retention left %d bytes", l.Size())
	}
	got := readAll(t, l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openTest(t, dir, cfg, clk)
	defer l.Close()
	if fmt.Sprint(readAll(t, l)) != fmt.Sprint(got) {
		t.Fatal("log changed across a reopen")
	}
}

// checkBatches checks that b is whole CRC-valid batches in offset order, the
// first holding or following offset.
func checkBatches(b []byte, offset int64) error {
	prev := int64(-1)
	for first := true; len(b) > 0; first = false {
		batch, rest, h, err := record.Next(b)
		if err != nil {
			return err
		}
		if _, err := record.Validate(batch); err != nil {
			return err
		}
		if first && h.LastOffset() < offset {
			return fmt.Errorf("first batch [%d,%d] ends before %d", h.BaseOffset, h.LastOffset(), offset)
		}
		if h.BaseOffset <= prev {
			return fmt.Errorf("batch %d after %d", h.BaseOffset, prev)
		}
		prev, b = h.LastOffset(), rest
	}
	return nil
}
