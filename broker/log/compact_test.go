package log

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary-io/tributary/broker/record"
)

func compactConfig() Config {
	c := testConfig()
	c.CleanupPolicy = CleanupCompact
	c.SegmentBytes = 1200
	return c
}

// expectCompacted returns what a compaction of everything below activeBase
// should leave of recs: per key the latest record below activeBase, tombstones
// only while younger than deleteRetention, and everything from activeBase on.
func expectCompacted(recs []gotRecord, activeBase, nowMs, deleteRetention int64) []gotRecord {
	latest := map[string]int64{}
	for _, r := range recs {
		if r.offset < activeBase {
			latest[r.key] = r.offset
		}
	}
	var out []gotRecord
	for _, r := range recs {
		if r.offset < activeBase {
			if latest[r.key] != r.offset || (r.null && r.ts+deleteRetention <= nowMs) {
				continue
			}
		}
		out = append(out, r)
	}
	return out
}

func TestCompactKeepsLatestPerKey(t *testing.T) {
	for _, codec := range []record.Compression{record.None, record.Gzip, record.Snappy, record.LZ4, record.Zstd} {
		t.Run(codec.String(), func(t *testing.T) {
			clk := newFakeClock()
			dir := t.TempDir()
			l := openTest(t, dir, compactConfig(), clk)
			rng := rand.New(rand.NewPCG(1, uint64(codec)))
			for i := range 120 {
				n := 1 + rng.IntN(4)
				recs := make([]kv, n)
				for j := range recs {
					recs[j] = kv{key: fmt.Appendf(nil, "key-%d", rng.IntN(12)), value: fmt.Appendf(nil, "value-%d-%d", i, j), ts: clk.Ms()}
				}
				mustAppend(t, l, buildBatch(t, codec, -1, recs...))
			}
			before := readAll(t, l)
			segsBefore := l.NumSegments()
			active := l.segmentInfos()[segsBefore-1].base
			st, err := l.Compact()
			if err != nil {
				t.Fatal(err)
			}
			want := expectCompacted(before, active, clk.Ms(), compactConfig().DeleteRetentionMs)
			got := readAll(t, l)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("after compaction:\n got %v\nwant %v", got, want)
			}
			if st.RecordsRemoved != int64(len(before)-len(want)) || st.SegmentsRewritten == 0 || st.BytesAfter >= st.BytesBefore {
				t.Fatalf("stats %+v, removed want %d", st, len(before)-len(want))
			}
			if l.EndOffset() != before[len(before)-1].offset+1 || l.StartOffset() != 0 {
				t.Fatalf("bounds changed: [%d,%d)", l.StartOffset(), l.EndOffset())
			}
			// Batches keep their codec.
			res, err := l.Read(0, 1<<20, l.EndOffset(), true)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := res.AppendBytes(nil)
			res.Release()
			for len(b) > 0 {
				_, rest, h, err := record.Next(b)
				if err != nil {
					t.Fatal(err)
				}
				if h.Compression() != codec && h.NumRecords > 0 {
					t.Fatalf("batch %d has codec %v, want %v", h.BaseOffset, h.Compression(), codec)
				}
				b = rest
			}
			// A second pass finds nothing more to remove but merges the segments
			// that shrank, and the result survives a reopen.
			if st, err := l.Compact(); err != nil || st.RecordsRemoved != 0 || st.SegmentsRewritten == 0 {
				t.Fatalf("second pass %+v %v", st, err)
			}
			if l.NumSegments() >= segsBefore {
				t.Fatalf("%d segments after compaction, %d before: small ones should merge", l.NumSegments(), segsBefore)
			}
			if fmt.Sprint(readAll(t, l)) != fmt.Sprint(want) {
				t.Fatal("merging changed the records")
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l = openTest(t, dir, compactConfig(), clk)
			defer l.Close()
			if fmt.Sprint(readAll(t, l)) != fmt.Sprint(want) {
				t.Fatal("compacted log changed across a reopen")
			}
			// Every offset still reads: offsets inside gaps give the next batch.
			for off := int64(0); off < l.EndOffset(); off++ {
				res, err := l.Read(off, 1, l.EndOffset(), true)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := res.AppendBytes(nil)
				res.Release()
				h, err := record.ParseHeader(b)
				if err != nil || h.LastOffset() < off {
					t.Fatalf("Read(%d) gave batch ending at %d: %v", off, h.LastOffset(), err)
				}
			}
		})
	}
}

func TestCompactTombstones(t *testing.T) {
	clk := newFakeClock()
	cfg := compactConfig()
	cfg.DeleteRetentionMs = int64(time.Hour / time.Millisecond)
	l := openTest(t, t.TempDir(), cfg, clk)
	defer l.Close()
	mustAppend(t, l, batchOf(t, kv{key: []byte("a"), value: []byte("1"), ts: clk.Ms()}, kv{key: []byte("b"), value: []byte("1"), ts: clk.Ms()}))
	clk.Advance(time.Minute)
	tombAt := clk.Ms()
	mustAppend(t, l, batchOf(t, kv{key: []byte("a"), value: nil, ts: tombAt}))
	for i := range 10 { // filler that rolls the tombstone out of the active segment
		mustAppend(t, l, valueBatch(t, 1, 300, clk.Ms()+int64(i)))
	}
	if _, err := l.Compact(); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, l)
	if got[0].key != "b" || got[1].key != "a" || !got[1].null || got[1].offset != 2 {
		t.Fatalf("after the first pass want b then tombstone a@2, got %v", got[:2])
	}
	if l.compactionDue(&cfg, clk.Ms()) {
		t.Fatal("compaction due before the tombstone expires")
	}
	clk.Advance(time.Hour)
	if !l.compactionDue(&cfg, clk.Ms()) {
		t.Fatal("compaction not due once the tombstone expired")
	}
	if _, err := l.Compact(); err != nil {
		t.Fatal(err)
	}
	got = readAll(t, l)
	for _, r := range got {
		if r.key == "a" {
			t.Fatalf("tombstone survived delete.retention.ms: %v", r)
		}
	}
	if got[0].key != "b" || got[0].offset != 1 {
		t.Fatalf("b@1 must stay: %v", got[0])
	}
}

// controlBatch builds a transaction marker (commit or abort) for pid.
func controlBatch(t *testing.T, pid int64, commit bool, ts int64) []byte {
	t.Helper()
	key := make([]byte, 4)
	if commit {
		binary.BigEndian.PutUint16(key[2:], controlCommit)
	}
	b, err := record.Build(record.BatchSpec{
		Attributes: record.AttrControl | record.AttrTransactional, BaseTimestamp: ts,
		ProducerID: pid, ProducerEpoch: 0, BaseSequence: -1,
	}, []record.Record{{Key: key, Value: make([]byte, 6)}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// txnBatch builds a transactional data batch.
func txnBatch(t *testing.T, pid int64, ts int64, recs ...kv) []byte {
	t.Helper()
	b := buildBatch(t, record.None, pid, recs...)
	attrs := binary.BigEndian.Uint16(b[21:]) | uint16(record.AttrTransactional)
	binary.BigEndian.PutUint16(b[21:], attrs)
	return fixCRC(b)
}

func TestCompactTransactions(t *testing.T) {
	clk := newFakeClock()
	l := openTest(t, t.TempDir(), compactConfig(), clk)
	defer l.Close()
	ts := clk.Ms()
	v := func(s string) []byte { return []byte(s) }
	appends := [][]byte{
		batchOf(t, kv{key: v("x"), value: v("plain-x"), ts: ts}),                // 0: superseded by the committed txn
		batchOf(t, kv{key: v("z"), value: v("plain-z"), ts: ts}),                // 1: stays: z's txn is unfinished
		txnBatch(t, 7, ts, kv{key: v("x"), value: v("aborted"), ts: ts}),        // 2: aborted, not 7's last batch
		controlBatch(t, 7, false, ts),                                           // 3: abort marker stays
		txnBatch(t, 7, ts, kv{key: v("w"), value: v("w-old"), ts: ts}),          // 4: 7's last data batch stays whole
		controlBatch(t, 7, true, ts),                                            // 5
		txnBatch(t, 8, ts, kv{key: v("x"), value: v("committed"), ts: ts}),      // 6
		controlBatch(t, 8, true, ts),                                            // 7
		batchOf(t, kv{key: v("w"), value: v("w-new"), ts: ts}),                  // 8
		buildBatch(t, record.None, 9, kv{key: v("w"), value: v("w-9"), ts: ts}), // 9: 9's only batch, superseded... but kept
		txnBatch(t, 10, ts, kv{key: v("z"), value: v("open"), ts: ts}),          // 10: no marker yet
		batchOf(t, kv{key: nil, value: v("no key"), ts: ts}),                    // 11: null key goes
		batchOf(t, kv{key: v("w"), value: v("w-last"), ts: ts}),                 // 12
	}
	for _, b := range appends {
		mustAppend(t, l, b)
	}
	for i := range 8 {
		mustAppend(t, l, valueBatch(t, 1, 300, ts+int64(i)))
	}
	if l.segmentInfos()[l.NumSegments()-1].base <= 12 {
		t.Fatal("setup: the interesting batches must be out of the active segment")
	}
	if _, err := l.Compact(); err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, r := range readAll(t, l) {
		if r.offset <= 12 {
			kept = append(kept, fmt.Sprintf("%d:%s", r.offset, r.value))
		}
	}
	// Control records have a 6-byte value; show them by offset only.
	for i, s := range kept {
		if strings.HasPrefix(s, "3:") || strings.HasPrefix(s, "5:") || strings.HasPrefix(s, "7:") {
			kept[i] = s[:2] + "marker"
		}
	}
	want := "[1:plain-z 3:marker 4:w-old 5:marker 6:committed 7:marker 9:w-9 10:open 12:w-last]"
	if fmt.Sprint(kept) != want {
		t.Fatalf("kept %v\nwant %s", kept, want)
	}
}

func TestCompactMinLag(t *testing.T) {
	clk := newFakeClock()
	cfg := compactConfig()
	cfg.MinCompactionLagMs = int64(time.Hour / time.Millisecond)
	l := openTest(t, t.TempDir(), cfg, clk)
	defer l.Close()
	for i := range 20 {
		mustAppend(t, l, batchOf(t, kv{key: []byte("same"), value: fmt.Appendf(nil, "%d-%s", i, strings.Repeat("x", 200)), ts: clk.Ms()}))
	}
	if st, err := l.Compact(); err != nil || st.RecordsRemoved != 0 {
		t.Fatalf("compacted records younger than the lag: %+v %v", st, err)
	}
	clk.Advance(2 * time.Hour)
	if st, err := l.Compact(); err != nil || st.RecordsRemoved == 0 {
		t.Fatalf("nothing compacted past the lag: %+v %v", st, err)
	}
}

func TestCompactionDueByDirtyRatio(t *testing.T) {
	clk := newFakeClock()
	cfg := compactConfig()
	cfg.MinCleanableDirtyRatio = 0.5
	l := openTest(t, t.TempDir(), cfg, clk)
	defer l.Close()
	fill := func(n int) {
		for i := range n {
			mustAppend(t, l, batchOf(t, kv{key: fmt.Appendf(nil, "k%d", i), value: make([]byte, 300), ts: clk.Ms()}))
		}
	}
	fill(20)
	if !l.compactionDue(&cfg, clk.Ms()) {
		t.Fatal("an uncompacted log is all dirty")
	}
	if _, err := l.Compact(); err != nil {
		t.Fatal(err)
	}
	if l.compactionDue(&cfg, clk.Ms()) {
		t.Fatal("due right after a pass")
	}
	fill(40)
	if !l.compactionDue(&cfg, clk.Ms()) {
		t.Fatal("not due after the log doubled")
	}
	cfg.CleanupPolicy = CleanupDelete
	if err := l.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if st, err := l.Compact(); err != nil || st.SegmentsRewritten != 0 {
		t.Fatalf("Compact ran with cleanup.policy=delete: %+v %v", st, err)
	}
}

// Appends and reads go on while compaction runs, and see a consistent log.
func TestCompactConcurrentWithAppendsAndReads(t *testing.T) {
	clk := newFakeClock()
	cfg := compactConfig()
	l := openTest(t, t.TempDir(), cfg, clk)
	defer l.Close()
	key := func(i int) []byte { return fmt.Appendf(nil, "k%d", i%20) }
	for i := range 200 {
		mustAppend(t, l, batchOf(t, kv{key: key(i), value: fmt.Appendf(nil, "%d", i), ts: clk.Ms()}))
	}
	var wg sync.WaitGroup
	var stop atomic.Bool
	errc := make(chan error, 3)
	wg.Add(2)
	go func() { // appender
		defer wg.Done()
		for i := 200; i < 1200 && !stop.Load(); i++ {
			if _, err := l.Append(batchOf(t, kv{key: key(i), value: fmt.Appendf(nil, "%d", i), ts: clk.Ms()}), 1); err != nil {
				errc <- err
				return
			}
		}
	}()
	go func() { // reader: every read is whole, valid batches in order
		defer wg.Done()
		for i := 0; i < 300 && !stop.Load(); i++ {
			start := l.StartOffset()
			res, err := l.Read(start+int64(i%50), 4096, l.EndOffset(), true)
			if err != nil {
				errc <- err
				return
			}
			b, err := res.AppendBytes(nil)
			res.Release()
			if err != nil {
				errc <- err
				return
			}
			prev := int64(-1)
			for len(b) > 0 {
				batch, rest, h, err := record.Next(b)
				if err == nil {
					_, err = record.Validate(batch)
				}
				if err == nil && h.BaseOffset <= prev {
					err = fmt.Errorf("batch %d after %d", h.BaseOffset, prev)
				}
				if err != nil {
					errc <- err
					return
				}
				prev, b = h.LastOffset(), rest
			}
		}
	}()
	passes := 0
	for i := 0; i < 20; i++ {
		if _, err := l.Compact(); err != nil {
			t.Error(err)
			break
		}
		passes++
	}
	stop.Store(true)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	// The last value of each key is the one with the highest offset.
	last := map[string]gotRecord{}
	for _, r := range readAll(t, l) {
		if prev, ok := last[r.key]; ok && prev.offset >= r.offset {
			t.Fatalf("offsets out of order for %s", r.key)
		}
		last[r.key] = r
	}
	end := l.EndOffset()
	for k, r := range last {
		var i int
		fmt.Sscanf(r.value, "%d", &i)
		if int64(i) != r.offset || r.offset < end-20 {
			t.Fatalf("key %s: latest %v, log end %d", k, r, end)
		}
	}
	if passes == 0 {
		t.Fatal("no compaction pass ran")
	}
}

// A crash before the swap record leaves .cleaned files that Open deletes; a
// crash after it is completed by Open.
func TestCompactSwapRecovery(t *testing.T) {
	for _, point := range []string{"before-commit", "committed", "renamed"} {
		t.Run(point, func(t *testing.T) {
			clk := newFakeClock()
			dir := t.TempDir()
			cfg := compactConfig()
			l := openTest(t, dir, cfg, clk)
			for i := range 100 {
				mustAppend(t, l, batchOf(t, kv{key: fmt.Appendf(nil, "k%d", i%7), value: fmt.Appendf(nil, "%d-%s", i, strings.Repeat("v", 50)), ts: clk.Ms()}))
			}
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
			before := readAll(t, l)
			active := l.segmentInfos()[l.NumSegments()-1].base
			want := expectCompacted(before, active, clk.Ms(), cfg.DeleteRetentionMs)
			crashErr := errors.New("simulated crash")
			l.testHook = func(p string) error {
				if p == point {
					return crashErr
				}
				return nil
			}
			if _, err := l.Compact(); !errors.Is(err, crashErr) {
				t.Fatalf("Compact: %v, want the simulated crash", err)
			}
			l.crash()
			names := listDir(t, dir)
			if point == "before-commit" && !strings.Contains(names, ".cleaned") {
				t.Fatalf("no .cleaned files left to recover from: %s", names)
			}
			if point != "before-commit" && !strings.Contains(names, ".swap") {
				t.Fatalf("no swap record left: %s", names)
			}
			l = openTest(t, dir, cfg, clk)
			defer l.Close()
			got := readAll(t, l)
			expect := want
			if point == "before-commit" {
				expect = before
			}
			if fmt.Sprint(got) != fmt.Sprint(expect) {
				t.Fatalf("after recovery:\n got %v\nwant %v", got, expect)
			}
			if names := listDir(t, dir); strings.Contains(names, ".cleaned") || strings.Contains(names, ".swap") || strings.Contains(names, ".tmp") {
				t.Fatalf("leftovers after recovery: %s", names)
			}
		})
	}
}

func listDir(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, filepath.Base(e.Name()))
	}
	return strings.Join(names, " ")
}

// A truncation while a pass reads or rewrites segments makes the pass give up
// quietly; the log stays consistent.
func TestCompactConcurrentWithTruncate(t *testing.T) {
	clk := newFakeClock()
	l := openTest(t, t.TempDir(), compactConfig(), clk)
	defer l.Close()
	batches := make([][]byte, 400)
	for i := range batches {
		batches[i] = batchOf(t, kv{key: fmt.Appendf(nil, "k%d", i%30), value: fmt.Appendf(nil, "%d-%040d", i, i), ts: clk.Ms()})
	}
	for _, b := range batches[:300] {
		mustAppend(t, l, b)
	}
	var wg sync.WaitGroup
	var stop atomic.Bool
	errc := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			if _, err := l.Compact(); err != nil {
				errc <- err
				return
			}
		}
	}()
	rng := rand.New(rand.NewPCG(2, 3))
	for i := range 30 {
		end := l.EndOffset()
		if err := l.Truncate(end - 1 - rng.Int64N(min(end, 40))); err != nil {
			t.Fatal(err)
		}
		for _, b := range batches[300+i*3 : 303+i*3] {
			mustAppend(t, l, b)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatalf("Compact during truncations: %v", err)
	}
	got := readAll(t, l)
	if len(got) == 0 || got[len(got)-1].offset != l.EndOffset()-1 {
		t.Fatalf("log ends at %d, last record %v", l.EndOffset(), got[len(got)-1])
	}
}
