package log

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestParseTopicPartition(t *testing.T) {
	tests := []struct {
		name string
		want TopicPartition
		ok   bool
	}{
		{"orders-0", TopicPartition{"orders", 0}, true},
		{"my-topic-12", TopicPartition{"my-topic", 12}, true},
		{"a.b-c.d-7", TopicPartition{"a.b-c.d", 7}, true},
		{"__consumer_offsets-49", TopicPartition{"__consumer_offsets", 49}, true},
		{"-1", TopicPartition{}, false},
		{"topic-", TopicPartition{}, false},
		{"topic", TopicPartition{}, false},
		{"topic-x", TopicPartition{}, false},
		{"topic--1", TopicPartition{"topic-", 1}, true},
		{"topic-01", TopicPartition{}, false},
		{"topic-99999999999", TopicPartition{}, false},
		{"orders-0.123.deleted", TopicPartition{}, false},
		{"__cluster_metadata", TopicPartition{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseTopicPartition(tt.name)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseTopicPartition(%q) = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
		if ok && got.String() != tt.name {
			t.Errorf("%v.String() = %q, want %q", got, got.String(), tt.name)
		}
	}
}

func TestManager(t *testing.T) {
	clk := newFakeClock()
	dir := t.TempDir()
	for _, name := range []string{"my-topic-0", "my-topic-1", "a.b-3", "not a partition", "x.1.deleted"} {
		if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "meta.properties"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := NewManager(dir, WithClock(clk.Now), WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(m.Partitions()); got != "[a.b-3 my-topic-0 my-topic-1]" {
		t.Fatalf("Partitions() = %s", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.1.deleted")); !os.IsNotExist(err) {
		t.Fatalf("a half-removed folder survived the start: %v", err)
	}
	tp := TopicPartition{"my-topic", 0}
	if _, ok := m.Get(tp); ok {
		t.Fatal("Get opened a log")
	}
	cfg := testConfig()
	l, err := m.GetOrCreate(tp, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if l2, _ := m.GetOrCreate(tp, DefaultConfig()); l2 != l {
		t.Fatal("GetOrCreate opened a second log")
	}
	if got, ok := m.Get(tp); !ok || got != l {
		t.Fatal("Get does not find the open log")
	}
	mustAppend(t, l, valueBatch(t, 3, 10, clk.Ms()))
	created, err := m.GetOrCreate(TopicPartition{"new", 5}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if created.Dir() != filepath.Join(dir, "new-5") {
		t.Fatalf("created in %s", created.Dir())
	}
	if _, err := m.GetOrCreate(TopicPartition{"../evil", 0}, cfg); err == nil {
		t.Fatal("a topic name with a path separator was accepted")
	}
	if got := fmt.Sprint(m.Partitions()); got != "[a.b-3 my-topic-0 my-topic-1 new-5]" {
		t.Fatalf("Partitions() = %s", got)
	}
	// Remove, open or not.
	if err := m.Remove(TopicPartition{"my-topic", 1}); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(TopicPartition{"new", 5}); err != nil {
		t.Fatal(err)
	}
	if _, err := created.Append(valueBatch(t, 1, 1, 1), 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("append to a removed log: %v", err)
	}
	if err := m.Remove(TopicPartition{"never", 0}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"my-topic-1", "new-5"} {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Fatalf("%s still on disk: %v", name, err)
		}
	}
	if got := fmt.Sprint(m.Partitions()); got != "[a.b-3 my-topic-0]" {
		t.Fatalf("Partitions() = %s", got)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.GetOrCreate(tp, cfg); !errors.Is(err, ErrClosed) {
		t.Fatalf("GetOrCreate after Close: %v", err)
	}
	// The data is there for the next manager.
	m, err = NewManager(dir, WithClock(clk.Now), WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	l, err = m.GetOrCreate(tp, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if l.EndOffset() != 3 {
		t.Fatalf("reopened end %d", l.EndOffset())
	}
}

// The background goroutine applies retention and compaction on its own.
func TestManagerBackgroundCleaner(t *testing.T) {
	clk := newFakeClock()
	m, err := NewManager(t.TempDir(), WithClock(clk.Now), WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	cfg := testConfig()
	cfg.SegmentBytes = 1024
	cfg.RetentionMs = 60_000
	del, err := m.GetOrCreate(TopicPartition{"del", 0}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.CleanupPolicy = CleanupCompact
	cmp, err := m.GetOrCreate(TopicPartition{"cmp", 0}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		mustAppend(t, del, valueBatch(t, 1, 100, clk.Ms()))
		mustAppend(t, cmp, batchOf(t, kv{key: []byte("same"), value: fmt.Appendf(nil, "%d-%0100d", i, i), ts: clk.Ms()}))
	}
	clk.Advance(2 * time.Minute)
	m.Start(5 * time.Millisecond)
	m.Start(time.Hour) // a second Start does nothing
	deadline := time.Now().Add(10 * time.Second)
	for del.NumSegments() > 1 || len(readAll(t, cmp)) > 30-int(cmp.segmentInfos()[cmp.NumSegments()-1].base)+1 {
		if time.Now().After(deadline) {
			t.Fatalf("cleaner did not run: del has %d segments, cmp %d records", del.NumSegments(), len(readAll(t, cmp)))
		}
		time.Sleep(5 * time.Millisecond) // polling with a deadline
	}
	if del.StartOffset() != 30-int64(len(readAll(t, del))) {
		t.Fatalf("start %d", del.StartOffset())
	}
}
