package log

import (
	"testing"
	"time"
)

// unflushed reports whether any segment has bytes not yet fsynced, and the
// recovery point the log would checkpoint now.
func (l *Log) flushState() (dirty bool, recovery int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.list() {
		dirty = dirty || s.flushedSize < s.size
	}
	return dirty, l.recoveryPointLocked()
}

func TestFlushMessages(t *testing.T) {
	tests := []struct {
		name          string
		flushMessages int64
		appends       int // of 2 records each
		wantDirty     bool
	}{
		{"every record", 1, 1, false},
		{"not reached", 10, 4, true},
		{"reached", 10, 5, false},
		{"default leaves it to the OS", 0, 20, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			cfg := testConfig()
			cfg.FlushMessages = tt.flushMessages
			l := openTest(t, t.TempDir(), cfg, clk)
			defer l.Close()
			for range tt.appends {
				mustAppend(t, l, valueBatch(t, 2, 10, clk.Ms()))
			}
			dirty, rp := l.flushState()
			if dirty != tt.wantDirty {
				t.Fatalf("unflushed data: %v, want %v", dirty, tt.wantDirty)
			}
			if !dirty && rp != l.EndOffset() {
				t.Fatalf("recovery point %d, want the end %d", rp, l.EndOffset())
			}
		})
	}
}

func TestFlushMsAndRolledSegments(t *testing.T) {
	clk := newFakeClock()
	cfg := testConfig()
	cfg.FlushMs = 1000
	cfg.SegmentBytes = 1024
	l := openTest(t, t.TempDir(), cfg, clk)
	defer l.Close()
	for range 3 {
		mustAppend(t, l, valueBatch(t, 1, 100, clk.Ms()))
	}
	if err := l.maintain(); err != nil {
		t.Fatal(err)
	}
	if dirty, _ := l.flushState(); !dirty {
		t.Fatal("flushed before flush.ms elapsed")
	}
	clk.Advance(1500 * time.Millisecond)
	if err := l.maintain(); err != nil {
		t.Fatal(err)
	}
	if dirty, rp := l.flushState(); dirty || rp != 3 {
		t.Fatalf("after flush.ms: dirty %v, recovery point %d", dirty, rp)
	}
	if l.onDisk.recovery != 3 {
		t.Fatalf("checkpoint recovery %d after maintenance, want 3", l.onDisk.recovery)
	}

	// With flush.ms far away, maintenance still fsyncs segments that rolled
	// (as Kafka flushes on roll), never the active one.
	cfg.FlushMs = 0 // default: never by time
	if err := l.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		mustAppend(t, l, valueBatch(t, 1, 100, clk.Ms()))
	}
	if l.NumSegments() < 3 {
		t.Fatalf("setup: %d segments", l.NumSegments())
	}
	if err := l.maintain(); err != nil {
		t.Fatal(err)
	}
	segs := l.list()
	active := segs[len(segs)-1]
	l.mu.Lock()
	for _, s := range segs[:len(segs)-1] {
		if s.flushedSize != s.size {
			t.Errorf("rolled segment %d not flushed", s.base)
		}
	}
	activeDirty := active.flushedSize < active.size
	rp := l.recoveryPointLocked()
	l.mu.Unlock()
	if !activeDirty || rp != active.base {
		t.Fatalf("active dirty %v, recovery point %d, want the active base %d", activeDirty, rp, active.base)
	}
	if l.onDisk.recovery != active.base {
		t.Fatalf("checkpoint recovery %d, want %d", l.onDisk.recovery, active.base)
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if dirty, rp := l.flushState(); dirty || rp != l.EndOffset() {
		t.Fatalf("after Sync: dirty %v, recovery point %d", dirty, rp)
	}
}
