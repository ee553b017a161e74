package log

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// A compaction pass reads, rewrites and fsyncs without holding the log's lock,
// taking it only to swap its output in. The test holds a pass in the middle of
// its rewrite (after a group's cleaned files are written and fsynced) and
// checks that appends, reads, a timestamp lookup and Sync complete meanwhile;
// then it lets the pass finish and checks the swapped-in result. A pass that
// blocked the log would leave the appender waiting until the deadline.
func TestCompactDoesNotBlockAppendsOrReads(t *testing.T) {
	clk := newFakeClock()
	cfg := compactConfig()
	l := openTest(t, t.TempDir(), cfg, clk)
	defer l.Close()
	value := func(i int) []byte { return fmt.Appendf(nil, "%d-%040d", i, i) }
	for i := range 200 {
		mustAppend(t, l, batchOf(t, kv{key: fmt.Appendf(nil, "k%d", i%10), value: value(i), ts: clk.Ms()}))
	}
	if l.NumSegments() < 3 {
		t.Fatalf("only %d segments: nothing for the pass to rewrite", l.NumSegments())
	}
	active := l.segmentInfos()[l.NumSegments()-1].base

	paused, resume := make(chan struct{}), make(chan struct{})
	var once sync.Once
	l.testHook = func(point string) error {
		if point == "group-written" {
			once.Do(func() { close(paused); <-resume })
		}
		return nil
	}
	type passResult struct {
		st  CleanStats
		err error
	}
	pass := make(chan passResult, 1)
	go func() {
		st, err := l.Compact()
		pass <- passResult{st, err}
	}()
	const wait = 30 * time.Second
	select {
	case <-paused:
	case r := <-pass:
		t.Fatalf("the pass ended (%+v, %v) without reaching its rewrite", r.st, r.err)
	case <-time.After(wait):
		t.Fatal("the pass did not reach its rewrite")
	}

	// While the pass is held, the log serves: 100 appends (rolling segments),
	// a read from the start, a timestamp lookup and an fsync.
	more := make([][]byte, 100)
	for i := range more {
		more[i] = batchOf(t, kv{key: fmt.Appendf(nil, "k%d", (200+i)%10), value: value(200 + i), ts: clk.Ms()})
	}
	served := make(chan error, 1)
	go func() {
		served <- func() error {
			for i, b := range more {
				if _, err := l.Append(b, 1); err != nil {
					return fmt.Errorf("append %d: %w", 200+i, err)
				}
			}
			res, err := l.Read(l.StartOffset(), 4096, l.EndOffset(), true)
			if err != nil {
				return fmt.Errorf("read: %w", err)
			}
			res.Release()
			if res.Size == 0 {
				return fmt.Errorf("read from the start returned nothing")
			}
			if _, _, ok, err := l.OffsetForTimestamp(clk.Ms()); err != nil || !ok {
				return fmt.Errorf("OffsetForTimestamp: found %v, %v", ok, err)
			}
			return l.Sync()
		}()
	}()
	select {
	case err := <-served:
		if err != nil {
			close(resume)
			<-pass
			t.Fatal(err)
		}
	case <-time.After(wait):
		close(resume) // let both finish so nothing outlives the test
		<-pass
		<-served
		t.Fatalf("appends and reads were blocked for %v while a compaction pass ran", wait)
	}
	if l.EndOffset() != 300 {
		t.Fatalf("end offset %d after the appends, want 300", l.EndOffset())
	}

	close(resume)
	r := <-pass
	if r.err != nil {
		t.Fatalf("Compact: %v", r.err)
	}
	if r.st.RecordsRemoved == 0 {
		t.Fatalf("the held pass removed nothing: %+v", r.st)
	}
	// The pass compacted what lay below the active segment of its start; the
	// records appended meanwhile are all there.
	var all []gotRecord
	for i := range 300 {
		all = append(all, gotRecord{offset: int64(i), key: fmt.Sprintf("k%d", i%10), value: string(value(i)), ts: clk.Ms()})
	}
	want := expectCompacted(all, active, clk.Ms(), cfg.DeleteRetentionMs)
	if got := readAll(t, l); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after the pass: %d records, want %d\n got %v\nwant %v", len(got), len(want), got, want)
	}
}
