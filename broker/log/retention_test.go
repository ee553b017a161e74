package log

import (
	"bytes"
	"fmt"
	"os"
	"testing"
	"time"
)

// retentionLog appends 30 batches of ~300 bytes, one per simulated minute, in
// 1000-byte segments (3 batches each).
func retentionLog(t *testing.T, cfg Config, clk *fakeClock) *Log {
	t.Helper()
	cfg.SegmentBytes = 1000
	l := openTest(t, t.TempDir(), cfg, clk)
	for range 30 {
		mustAppend(t, l, valueBatch(t, 1, 250, clk.Ms()))
		clk.Advance(time.Minute)
	}
	return l
}

func TestRetention(t *testing.T) {
	tests := []struct {
		name          string
		policy        string
		retentionMs   int64
		retention     int64 // bytes
		wantDeleted   int
		wantRemaining int
	}{
		{"nothing expired", "delete", int64(time.Hour / time.Millisecond), -1, 0, 10},
		{"by time", "delete", int64(10*time.Minute/time.Millisecond) + 1, -1, 6, 4},
		{"keep forever", "delete", -1, -1, 0, 10},
		{"by bytes", "delete", -1, 2500, 7, 3},
		{"tiny bytes limit keeps the active segment", "delete", -1, 1, 9, 1},
		{"everything expired keeps the active segment", "delete", 1, -1, 9, 1},
		{"compact policy ignores time", "compact", 1, -1, 0, 10},
		{"compact,delete uses time", "compact,delete", 1, -1, 9, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			cfg := testConfig()
			cfg.CleanupPolicy, cfg.RetentionMs, cfg.RetentionBytes = tt.policy, tt.retentionMs, tt.retention
			l := retentionLog(t, cfg, clk)
			defer l.Close()
			before := l.segmentInfos()
			if len(before) != 10 {
				t.Fatalf("setup: %d segments, want 10", len(before))
			}
			st, err := l.ApplyRetention()
			if err != nil {
				t.Fatal(err)
			}
			after := l.segmentInfos()
			if st.SegmentsDeleted != tt.wantDeleted || len(after) != tt.wantRemaining {
				t.Fatalf("deleted %d, %d remain; want %d and %d", st.SegmentsDeleted, len(after), tt.wantDeleted, tt.wantRemaining)
			}
			if fmt.Sprint(after) != fmt.Sprint(before[tt.wantDeleted:]) {
				t.Fatalf("retention removed the wrong segments: %+v", after)
			}
			if l.StartOffset() != after[0].base {
				t.Fatalf("start %d, first segment %d", l.StartOffset(), after[0].base)
			}
			for _, si := range before[:tt.wantDeleted] {
				if _, err := os.Stat(segmentPath(l.Dir(), si.base, logExt)); !os.IsNotExist(err) {
					t.Fatalf("segment %d still on disk: %v", si.base, err)
				}
			}
			if st.BytesBefore-st.BytesAfter != sumSize(before[:tt.wantDeleted]) {
				t.Fatalf("stats %+v", st)
			}
			if got := len(readAll(t, l)); int64(got) != l.EndOffset()-l.StartOffset() {
				t.Fatalf("read %d records", got)
			}
		})
	}
}

func sumSize(segs []segmentInfo) int64 {
	var n int64
	for _, s := range segs {
		n += s.size
	}
	return n
}

// A reader keeps a deleted segment's file open until it releases its result.
func TestRetentionKeepsFilesOfOpenReads(t *testing.T) {
	clk := newFakeClock()
	cfg := testConfig()
	cfg.RetentionMs = 1
	l := retentionLog(t, cfg, clk)
	defer l.Close()
	first := l.list()[0]
	res, err := l.Read(0, 10_000, l.EndOffset(), true)
	if err != nil {
		t.Fatal(err)
	}
	want, err := res.AppendBytes(nil)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := l.ApplyRetention(); err != nil || st.SegmentsDeleted != 9 {
		t.Fatalf("retention: %+v %v", st, err)
	}
	got, err := res.AppendBytes(nil)
	if err != nil {
		t.Fatalf("reading a deleted segment through an open result: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("bytes changed under an open result")
	}
	if first.file.refs.Load() != 1 {
		t.Fatalf("first segment refs %d while read, want 1 (the reader's)", first.file.refs.Load())
	}
	res.Release()
	res.Release() // twice is fine
	if first.file.refs.Load() != 0 {
		t.Fatalf("refs %d after release", first.file.refs.Load())
	}
	if _, err := first.file.f.Stat(); err == nil {
		t.Fatal("file still open after the last release")
	}
}
