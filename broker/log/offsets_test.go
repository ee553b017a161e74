package log

import (
	"errors"
	"fmt"
	"testing"

	"github.com/tributary-io/tributary/broker/record"
)

// fillLog appends n batches of 2 records (batch i holds offsets 2i and 2i+1,
// timestamps base+10i) and returns the log.
func fillLog(t *testing.T, dir string, n int, clk *fakeClock) *Log {
	t.Helper()
	cfg := testConfig()
	cfg.SegmentBytes = 1024
	l := openTest(t, dir, cfg, clk)
	for i := range n {
		ts := clk.Ms() + 10*int64(i)
		mustAppend(t, l, batchOf(t,
			kv{key: fmt.Appendf(nil, "k%d", 2*i), value: []byte("v"), ts: ts},
			kv{key: fmt.Appendf(nil, "k%d", 2*i+1), value: []byte("w"), ts: ts + 5}))
	}
	return l
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		name      string
		to        int64
		wantEnd   int64
		wantStart int64
	}{
		{"past end", 200, 80, 0},
		{"at end", 80, 80, 0},
		{"batch boundary", 50, 50, 0},
		{"mid batch removes whole batch", 51, 50, 0},
		{"inside first segment", 3, 2, 0},
		{"to start", 0, 0, 0},
		{"segment boundary", -1, -1, 0}, // computed: the second segment's base
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			dir := t.TempDir()
			l := fillLog(t, dir, 40, clk)
			if tt.to < 0 {
				tt.to = l.segmentInfos()[1].base
				tt.wantEnd = tt.to
			}
			if err := l.Truncate(tt.to); err != nil {
				t.Fatal(err)
			}
			check := func(l *Log) {
				t.Helper()
				if l.EndOffset() != tt.wantEnd || l.StartOffset() != tt.wantStart {
					t.Fatalf("after Truncate(%d): [%d,%d), want [%d,%d)", tt.to, l.StartOffset(), l.EndOffset(), tt.wantStart, tt.wantEnd)
				}
				got := readAll(t, l)
				if int64(len(got)) != tt.wantEnd-tt.wantStart {
					t.Fatalf("read %d records, want %d", len(got), tt.wantEnd-tt.wantStart)
				}
				for i, r := range got {
					if r.offset != tt.wantStart+int64(i) || r.key != fmt.Sprintf("k%d", r.offset) {
						t.Fatalf("record %d: %+v", i, r)
					}
				}
				var sum int64
				for _, si := range l.segmentInfos() {
					sum += si.size
				}
				if sum != l.Size() {
					t.Fatalf("size %d, segments sum to %d", l.Size(), sum)
				}
			}
			check(l)
			// Appends continue at the new end, and the log survives a reopen.
			info := mustAppend(t, l, batchOf(t, kv{key: fmt.Appendf(nil, "k%d", tt.wantEnd), value: []byte("x"), ts: clk.Ms()}))
			if info.BaseOffset != tt.wantEnd {
				t.Fatalf("append after truncate at %d, want %d", info.BaseOffset, tt.wantEnd)
			}
			tt.wantEnd++
			check(l)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l = openTest(t, dir, testConfig(), clk)
			defer l.Close()
			check(l)
		})
	}
}

func TestTruncateBelowStartRestartsLog(t *testing.T) {
	clk := newFakeClock()
	dir := t.TempDir()
	l := fillLog(t, dir, 40, clk)
	if err := l.AdvanceStartOffset(30); err != nil {
		t.Fatal(err)
	}
	if err := l.Truncate(20); err != nil {
		t.Fatal(err)
	}
	if l.StartOffset() != 20 || l.EndOffset() != 20 || l.NumSegments() != 1 || l.Size() != 0 {
		t.Fatalf("after truncate below start: [%d,%d) %d segments %d bytes", l.StartOffset(), l.EndOffset(), l.NumSegments(), l.Size())
	}
	mustAppend(t, l, valueBatch(t, 3, 10, clk.Ms()))
	l.crash()
	l = openTest(t, dir, testConfig(), clk)
	defer l.Close()
	if l.StartOffset() != 20 || l.EndOffset() != 23 || len(readAll(t, l)) != 3 {
		t.Fatalf("reopened [%d,%d)", l.StartOffset(), l.EndOffset())
	}
}

// A crash right after a truncation and new appends must not resurrect the
// recovery point from before the truncation: the new bytes are rescanned.
func TestTruncateLowersRecoveryPoint(t *testing.T) {
	clk := newFakeClock()
	dir := t.TempDir()
	l := fillLog(t, dir, 40, clk)
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := l.saveCheckpoint(); err != nil {
		t.Fatal(err)
	}
	if l.onDisk.recovery != 80 {
		t.Fatalf("checkpoint recovery %d, want 80", l.onDisk.recovery)
	}
	if err := l.Truncate(60); err != nil {
		t.Fatal(err)
	}
	if l.onDisk.recovery != 60 {
		t.Fatalf("checkpoint recovery %d after truncate, want 60", l.onDisk.recovery)
	}
	mustAppend(t, l, valueBatch(t, 30, 10, clk.Ms()))
	seg := l.segmentInfos()[l.NumSegments()-1]
	l.crash()
	// Tear the last batch: recovery must notice although it is below the old recovery point.
	if err := truncateFile(segmentPath(dir, seg.base, logExt), seg.size-3); err != nil {
		t.Fatal(err)
	}
	l = openTest(t, dir, testConfig(), clk)
	defer l.Close()
	if l.EndOffset() != 60 {
		t.Fatalf("end %d after torn append, want 60", l.EndOffset())
	}
}

func TestAdvanceStartOffset(t *testing.T) {
	clk := newFakeClock()
	dir := t.TempDir()
	l := fillLog(t, dir, 40, clk)
	segs := l.NumSegments()
	if err := l.AdvanceStartOffset(5); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Read(4, 100, 80, true); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below new start: %v", err)
	}
	if got := readAll(t, l); got[0].offset != 5 || len(got) != 75 {
		t.Fatalf("first record %d, %d records", got[0].offset, len(got))
	}
	if err := l.AdvanceStartOffset(3); err != nil || l.StartOffset() != 5 {
		t.Fatalf("moving back: %v, start %d", err, l.StartOffset())
	}
	if err := l.AdvanceStartOffset(81); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("past end: %v", err)
	}
	third := l.segmentInfos()[2].base
	if err := l.AdvanceStartOffset(third + 1); err != nil {
		t.Fatal(err)
	}
	if l.NumSegments() != segs-2 || l.segmentInfos()[0].base != third {
		t.Fatalf("segments wholly below the start were not deleted: %+v", l.segmentInfos())
	}
	if err := l.AdvanceStartOffset(80); err != nil {
		t.Fatal(err)
	}
	if l.NumSegments() != 1 {
		t.Fatalf("only the active segment should stay: %+v", l.segmentInfos())
	}
	// The start survives a crash.
	l.crash()
	l = openTest(t, dir, testConfig(), clk)
	defer l.Close()
	if l.StartOffset() != 80 || l.EndOffset() != 80 {
		t.Fatalf("reopened [%d,%d), want [80,80)", l.StartOffset(), l.EndOffset())
	}
}

func TestOffsetForTimestamp(t *testing.T) {
	clk := newFakeClock()
	l := fillLog(t, t.TempDir(), 40, clk)
	defer l.Close()
	t0 := clk.Ms() // batch i: records at t0+10i and t0+10i+5
	tests := []struct {
		name    string
		ts      int64
		wantOff int64
		wantTs  int64
		wantOK  bool
	}{
		{"before all", 0, 0, t0, true},
		{"exact first", t0, 0, t0, true},
		{"second record", t0 + 1, 1, t0 + 5, true},
		{"mid log", t0 + 200, 40, t0 + 200, true},
		{"between records", t0 + 203, 41, t0 + 205, true},
		{"last", t0 + 395, 79, t0 + 395, true},
		{"after all", t0 + 396, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			off, ts, ok, err := l.OffsetForTimestamp(tt.ts)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.wantOK || (ok && (off != tt.wantOff || ts != tt.wantTs)) {
				t.Fatalf("OffsetForTimestamp(%d) = %d, %d, %v; want %d, %d, %v", tt.ts, off, ts, ok, tt.wantOff, tt.wantTs, tt.wantOK)
			}
		})
	}
	if err := l.AdvanceStartOffset(11); err != nil {
		t.Fatal(err)
	}
	if off, _, ok, _ := l.OffsetForTimestamp(0); !ok || off != 11 {
		t.Fatalf("after the start moved: %d %v, want 11", off, ok)
	}
	ts, off, ok := l.MaxTimestamp()
	if !ok || ts != t0+395 || off != 78 {
		t.Fatalf("MaxTimestamp = %d at %d (%v), want %d at 78", ts, off, ok, t0+395)
	}
}

func TestMaxTimestampNotMonotonic(t *testing.T) {
	clk := newFakeClock()
	l := openTest(t, t.TempDir(), testConfig(), clk)
	defer l.Close()
	if _, _, ok := l.MaxTimestamp(); ok {
		t.Fatal("empty log has a max timestamp")
	}
	for i, ts := range []int64{100, 900, 300, 200} {
		mustAppend(t, l, batchOf(t, kv{key: []byte{byte(i)}, value: []byte("v"), ts: ts}))
	}
	if ts, off, ok := l.MaxTimestamp(); !ok || ts != 900 || off != 1 {
		t.Fatalf("MaxTimestamp = %d at %d", ts, off)
	}
	if off, ts, ok, _ := l.OffsetForTimestamp(250); !ok || off != 1 || ts != 900 {
		t.Fatalf("OffsetForTimestamp(250) = %d, %d, %v; want the first record at or after: 1, 900", off, ts, ok)
	}
}

func TestAppendAsFollower(t *testing.T) {
	clk := newFakeClock()
	leader := fillLog(t, t.TempDir(), 20, clk)
	defer leader.Close()
	follower := openTest(t, t.TempDir(), testConfig(), clk)
	defer follower.Close()
	for next := int64(0); next < leader.EndOffset(); {
		res, err := leader.Read(next, 700, leader.EndOffset(), true)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := res.AppendBytes(nil)
		res.Release()
		info, err := follower.AppendAsFollower(b)
		if err != nil {
			t.Fatal(err)
		}
		if info.BaseOffset != next || info.LastOffset != res.NextOffset-1 {
			t.Fatalf("follower append %+v, want [%d,%d]", info, next, res.NextOffset-1)
		}
		next = res.NextOffset
	}
	if fmt.Sprint(readAll(t, follower)) != fmt.Sprint(readAll(t, leader)) {
		t.Fatal("follower differs from leader")
	}
	// Offsets and epochs are kept; going backwards is refused.
	b := batchOf(t, kv{key: []byte("x"), value: []byte("y"), ts: 1})
	record.SetBaseOffset(b, 5)
	if _, err := follower.AppendAsFollower(b); err == nil {
		t.Fatal("follower accepted a batch below its end")
	}
	record.SetBaseOffset(b, 100) // a gap, as compaction leaves
	record.SetPartitionLeaderEpoch(b, 7)
	if info, err := follower.AppendAsFollower(b); err != nil || info.BaseOffset != 100 || follower.EndOffset() != 101 {
		t.Fatalf("gap append: %+v %v end %d", info, err, follower.EndOffset())
	}
	res, err := follower.Read(41, 1000, 101, true)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := res.AppendBytes(nil)
	res.Release()
	h, err := record.ParseHeader(got)
	if err != nil || h.BaseOffset != 100 || h.PartitionLeaderEpoch != 7 {
		t.Fatalf("read in the gap gave %+v %v, want the batch at 100 with epoch 7", h, err)
	}
}
