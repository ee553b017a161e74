package log

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tributary-io/tributary/broker/record"
)

func TestAppendReadRoundTrip(t *testing.T) {
	clk := newFakeClock()
	l := openTest(t, t.TempDir(), testConfig(), clk)
	defer l.Close()
	var want []gotRecord
	next := int64(0)
	for i := range 50 {
		n := 1 + i%5
		b := valueBatch(t, n, 40+i, clk.Ms())
		info := mustAppend(t, l, b)
		if info.BaseOffset != next || info.LastOffset != next+int64(n)-1 || info.NumRecords != int64(n) || info.Bytes != int64(len(b)) {
			t.Fatalf("append %d: info %+v, want base %d last %d", i, info, next, next+int64(n)-1)
		}
		for j := range n {
			want = append(want, gotRecord{offset: next + int64(j), key: fmt.Sprintf("k%d", j), ts: clk.Ms()})
		}
		next += int64(n)
	}
	if l.EndOffset() != next || l.StartOffset() != 0 {
		t.Fatalf("offsets [%d,%d), want [0,%d)", l.StartOffset(), l.EndOffset(), next)
	}
	if l.NumSegments() < 3 {
		t.Fatalf("expected rolls with segment.bytes=4096, got %d segments", l.NumSegments())
	}
	got := readAll(t, l)
	if len(got) != len(want) {
		t.Fatalf("read %d records, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].offset != want[i].offset || got[i].key != want[i].key || got[i].ts != want[i].ts {
			t.Fatalf("record %d: got %+v, want offset %d key %s", i, got[i], want[i].offset, want[i].key)
		}
	}
	// Every offset starts a read at the batch that holds it.
	for off := int64(0); off < next; off++ {
		res, err := l.Read(off, 1, next, true)
		if err != nil {
			t.Fatalf("Read(%d): %v", off, err)
		}
		b, err := res.AppendBytes(nil)
		res.Release()
		if err != nil {
			t.Fatal(err)
		}
		h, err := record.ParseHeader(b)
		if err != nil || h.BaseOffset > off || h.LastOffset() < off || len(b) != h.Size() {
			t.Fatalf("Read(%d) gave batch [%d,%d] of %d bytes (%d read): %v", off, h.BaseOffset, h.LastOffset(), h.Size(), len(b), err)
		}
		if h.PartitionLeaderEpoch != 1 {
			t.Fatalf("batch %d: leader epoch %d, want 1", h.BaseOffset, h.PartitionLeaderEpoch)
		}
	}
}

func TestAppendRejectsInvalidBatches(t *testing.T) {
	good := func(t *testing.T) []byte { return valueBatch(t, 3, 10, 1000) }
	tests := []struct {
		name  string
		batch func(t *testing.T) []byte
		want  error
	}{
		{"empty", func(t *testing.T) []byte { return nil }, record.ErrTooShort},
		{"short header", func(t *testing.T) []byte { return good(t)[:30] }, record.ErrTooShort},
		{"truncated batch", func(t *testing.T) []byte { b := good(t); return b[:len(b)-1] }, record.ErrTooShort},
		{"second batch truncated", func(t *testing.T) []byte {
			b := append(good(t), good(t)...)
			return b[:len(b)-5]
		}, record.ErrTooShort},
		{"bad crc", func(t *testing.T) []byte { b := good(t); b[len(b)-1] ^= 0xff; return b }, record.ErrCRC},
		{"bad crc in second batch", func(t *testing.T) []byte {
			b := append(good(t), good(t)...)
			b[len(b)-1] ^= 0xff
			return b
		}, record.ErrCRC},
		{"magic 1", func(t *testing.T) []byte { b := good(t); b[16] = 1; return b }, record.ErrUnsupportedMagic},
		{"record count lies", func(t *testing.T) []byte {
			b := good(t)
			binary.BigEndian.PutUint32(b[57:], 2)
			binary.BigEndian.PutUint32(b[17:], 0)
			return fixCRC(b)
		}, record.ErrInvalidRecord},
		{"too large", func(t *testing.T) []byte { return valueBatch(t, 1, 2000, 1000) }, ErrBatchTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.MaxMessageBytes = 1000
			l := openTest(t, t.TempDir(), cfg, newFakeClock())
			defer l.Close()
			mustAppend(t, l, good(t))
			before, size := l.EndOffset(), l.Size()
			_, err := l.Append(tt.batch(t), 1)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Append error %v, want %v", err, tt.want)
			}
			if l.EndOffset() != before || l.Size() != size {
				t.Fatalf("rejected append changed the log: end %d→%d size %d→%d", before, l.EndOffset(), size, l.Size())
			}
			mustAppend(t, l, good(t)) // still usable
		})
	}
}

// fixCRC recomputes a batch's CRC after a test edited it.
func fixCRC(b []byte) []byte {
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

func TestLogAppendTime(t *testing.T) {
	clk := newFakeClock()
	cfg := testConfig()
	cfg.MessageTimestampType = "LogAppendTime"
	l := openTest(t, t.TempDir(), cfg, clk)
	defer l.Close()
	info := mustAppend(t, l, valueBatch(t, 3, 10, 5))
	if info.LogAppendTime != clk.Ms() || info.MaxTimestamp != clk.Ms() {
		t.Fatalf("info %+v, want LogAppendTime %d", info, clk.Ms())
	}
	for _, r := range readAll(t, l) {
		if r.ts != clk.Ms() {
			t.Fatalf("record %d has timestamp %d, want %d", r.offset, r.ts, clk.Ms())
		}
	}
	cfg.MessageTimestampType = "CreateTime"
	if err := l.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if info := mustAppend(t, l, valueBatch(t, 1, 10, 5)); info.LogAppendTime != -1 || info.MaxTimestamp != 5 {
		t.Fatalf("CreateTime append info %+v", info)
	}
}

func TestRollBySizeAndTime(t *testing.T) {
	tests := []struct {
		name     string
		segBytes int64
		segMs    int64
		step     time.Duration
		appends  int
		wantSegs int
	}{
		{"no roll", 1 << 20, 1 << 40, time.Second, 10, 1},
		{"by size", 1000, 1 << 40, 0, 10, 10}, // each ~250-byte batch... see check below
		{"by time", 1 << 20, 1000, 600 * time.Millisecond, 10, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			cfg := testConfig()
			cfg.SegmentBytes, cfg.SegmentMs = tt.segBytes, tt.segMs
			l := openTest(t, t.TempDir(), cfg, clk)
			defer l.Close()
			b := valueBatch(t, 1, 300, clk.Ms())
			for range tt.appends {
				mustAppend(t, l, append([]byte(nil), b...))
				clk.Advance(tt.step)
			}
			want := tt.wantSegs
			if tt.name == "by size" {
				perSeg := int(tt.segBytes) / len(b) // batches that fit in one segment
				want = (tt.appends + perSeg - 1) / perSeg
			}
			if got := l.NumSegments(); got != want {
				t.Fatalf("%d segments, want %d (%+v)", got, want, l.segmentInfos())
			}
			for _, si := range l.segmentInfos() {
				if si.size > tt.segBytes {
					t.Fatalf("segment %d has %d bytes > segment.bytes %d", si.base, si.size, tt.segBytes)
				}
			}
			if n := len(readAll(t, l)); n != tt.appends {
				t.Fatalf("read %d records, want %d", n, tt.appends)
			}
		})
	}
}

func TestReadBounds(t *testing.T) {
	clk := newFakeClock()
	l := openTest(t, t.TempDir(), testConfig(), clk)
	defer l.Close()
	var sizes []int64
	for i := range 20 {
		b := valueBatch(t, 2, 100, clk.Ms()+int64(i))
		sizes = append(sizes, int64(len(b)))
		mustAppend(t, l, b) // batch i holds offsets 2i, 2i+1
	}
	if err := l.AdvanceStartOffset(4); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name             string
		offset, maxBytes int64
		upTo             int64
		minOne           bool
		wantErr          bool
		wantFirst        int64 // base offset of the first batch, -1 for none
		wantBatches      int
		wantNext         int64
	}{
		{"below start", 3, 1 << 20, 40, true, true, -1, 0, 0},
		{"above end", 41, 1 << 20, 41, true, true, -1, 0, 0},
		{"at end", 40, 1 << 20, 40, true, false, -1, 0, 40},
		{"at upTo", 10, 1 << 20, 10, true, false, -1, 0, 10},
		{"whole log", 4, 1 << 20, 40, false, false, 4, 18, 40},
		{"mid batch", 5, 1 << 20, 40, false, false, 4, 18, 40},
		{"upTo cuts a batch", 4, 1 << 20, 9, false, false, 4, 2, 8},
		{"upTo inside first batch", 4, 1 << 20, 5, true, false, -1, 0, 4},
		{"maxBytes two batches", 6, sizes[0]*2 + 10, 40, false, false, 6, 2, 10},
		{"maxBytes too small", 6, 10, 40, false, false, -1, 0, 6},
		{"maxBytes too small minOne", 6, 10, 40, true, false, 6, 1, 8},
		{"maxBytes zero minOne", 6, 0, 40, true, false, 6, 1, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := l.Read(tt.offset, tt.maxBytes, tt.upTo, tt.minOne)
			defer res.Release()
			if tt.wantErr {
				var oor *OutOfRangeError
				if !errors.As(err, &oor) || !errors.Is(err, ErrOffsetOutOfRange) || oor.Start != 4 || oor.End != 40 {
					t.Fatalf("err %v, want OutOfRangeError [4,40]", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := res.AppendBytes(nil)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(b)) != res.Size {
				t.Fatalf("Size %d, bytes %d", res.Size, len(b))
			}
			var bases []int64
			for len(b) > 0 {
				batch, rest, h, err := record.Next(b)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := record.Validate(batch); err != nil {
					t.Fatal(err)
				}
				bases = append(bases, h.BaseOffset)
				b = rest
			}
			if len(bases) != tt.wantBatches || (len(bases) > 0 && bases[0] != tt.wantFirst) {
				t.Fatalf("batches %v, want %d starting at %d", bases, tt.wantBatches, tt.wantFirst)
			}
			if res.NextOffset != tt.wantNext {
				t.Fatalf("NextOffset %d, want %d", res.NextOffset, tt.wantNext)
			}
			if tt.maxBytes > 0 && !tt.minOne && res.Size > tt.maxBytes {
				t.Fatalf("read %d bytes > maxBytes %d", res.Size, tt.maxBytes)
			}
		})
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	clk := newFakeClock()
	dir := t.TempDir()
	cfg := testConfig()
	l := openTest(t, dir, cfg, clk)
	for i := range 40 {
		mustAppend(t, l, valueBatch(t, 3, 50, clk.Ms()+int64(i)))
	}
	if err := l.AdvanceStartOffset(7); err != nil {
		t.Fatal(err)
	}
	want := readAll(t, l)
	segs := l.segmentInfos()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(valueBatch(t, 1, 1, 1), 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
	l = openTest(t, dir, cfg, clk)
	defer l.Close()
	if l.StartOffset() != 7 || l.EndOffset() != 120 {
		t.Fatalf("reopened [%d,%d), want [7,120)", l.StartOffset(), l.EndOffset())
	}
	got := readAll(t, l)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("reopened log differs")
	}
	if fmt.Sprint(l.segmentInfos()) != fmt.Sprint(segs) {
		t.Fatalf("segments %+v, want %+v", l.segmentInfos(), segs)
	}
	mustAppend(t, l, valueBatch(t, 1, 10, clk.Ms()))
	if l.EndOffset() != 121 {
		t.Fatalf("end %d after append", l.EndOffset())
	}
}

func TestIndexesOnDiskMatchMemory(t *testing.T) {
	clk := newFakeClock()
	dir := t.TempDir()
	l := openTest(t, dir, testConfig(), clk)
	for i := range 60 {
		mustAppend(t, l, valueBatch(t, 1+i%3, 60, clk.Ms()+int64(i%7)))
	}
	type idx struct {
		index  []indexEntry
		tindex []timeEntry
	}
	mem := map[int64]idx{}
	for _, s := range l.list() {
		mem[s.base] = idx{append([]indexEntry(nil), s.index...), append([]timeEntry(nil), s.tindex...)}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for base, want := range mem {
		b, err := os.ReadFile(segmentPath(dir, base, indexExt))
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(appendIndexBytes(nil, want.index)) != fmt.Sprint(b) {
			t.Fatalf("segment %d: .index on disk differs from memory", base)
		}
		tb, err := os.ReadFile(segmentPath(dir, base, timeIndexExt))
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseTimeIndex(tb, maxRelOffset)
		if err != nil {
			t.Fatal(err)
		}
		// Close seals the active segment with one more time entry.
		if len(got) < len(want.tindex) || fmt.Sprint(got[:len(want.tindex)]) != fmt.Sprint(want.tindex) {
			t.Fatalf("segment %d: .timeindex %v, memory %v", base, got, want.tindex)
		}
		if len(want.index) == 0 && base != 0 {
			// with 256-byte intervals and ~100-byte batches every segment has entries
			t.Fatalf("segment %d has no index entries", base)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, checkpointName)); err != nil {
		t.Fatalf("no checkpoint after Close: %v", err)
	}
}
