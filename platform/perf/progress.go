package perf

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// counters are what a run's workers add to and the progress printer reads.
type counters struct {
	records atomic.Int64
	bytes   atomic.Int64
	errs    atomic.Int64
	// latSum and latN are the latency sum (ns) and count, for the progress
	// line's mean over each interval.
	latSum atomic.Int64
	latN   atomic.Int64
}

// Progress is a run's running totals, handed to OnProgress every
// ProgressEvery (a command line draws its progress bar from it).
type Progress struct {
	// Records, Bytes and Errors are counted since the run started.
	Records, Bytes, Errors int64
	// Elapsed is the time since the progress reporting started.
	Elapsed time.Duration
	// Line is what a Progress writer gets, without the newline: rates over
	// the last interval and the mean latency.
	Line string
}

// startProgress prints a line to w and calls fn every interval until the
// returned stop is called; stop waits for the printer to exit. With neither
// w nor fn, or a non-positive interval, it does nothing.
func startProgress(w io.Writer, fn func(Progress), every time.Duration, mode string, c *counters) (stop func()) {
	if (w == nil && fn == nil) || every <= 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		began := time.Now()
		last := began
		var lastRecs, lastBytes, lastSum, lastN int64
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				recs, bytes, sum, n := c.records.Load(), c.bytes.Load(), c.latSum.Load(), c.latN.Load()
				secs := now.Sub(last).Seconds()
				line := fmt.Sprintf("%s: %d records, %.0f records/s, %.2f MB/s", mode, recs,
					float64(recs-lastRecs)/secs, float64(bytes-lastBytes)/1e6/secs)
				if n > lastN {
					line += fmt.Sprintf(", %.2f ms mean latency", float64(sum-lastSum)/float64(n-lastN)/1e6)
				}
				if e := c.errs.Load(); e > 0 {
					line += fmt.Sprintf(", %d errors", e)
				}
				if w != nil {
					_, _ = fmt.Fprintln(w, line)
				}
				if fn != nil {
					fn(Progress{Records: recs, Bytes: bytes, Errors: c.errs.Load(), Elapsed: now.Sub(began), Line: line})
				}
				last, lastRecs, lastBytes, lastSum, lastN = now, recs, bytes, sum, n
			}
		}
	}()
	return func() { cancel(); wg.Wait() }
}
