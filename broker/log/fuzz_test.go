package log

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/tributary-io/tributary/broker/record"
)

// indexTemplate is a cleanly closed one-segment log whose index files the
// fuzzer replaces.
type indexTemplate struct {
	logBytes, checkpoint []byte
	index, timeIndex     []byte
	recs                 []gotRecord
	infos                []segmentInfo
}

func newIndexTemplate(f *testing.F) indexTemplate {
	clk := newFakeClock()
	dir := f.TempDir()
	cfg := testConfig()
	cfg.SegmentBytes, cfg.IndexIntervalBytes = 1<<20, 150
	l, err := Open(dir, cfg, WithClock(clk.Now), WithLogger(quietLogger()))
	if err != nil {
		f.Fatal(err)
	}
	for i := range 30 {
		mustAppend(f, l, valueBatch(f, 1+i%3, 40, clk.Ms()+int64(i*(i%4))))
	}
	tmpl := indexTemplate{recs: readAll(f, l), infos: l.segmentInfos()}
	if err := l.Close(); err != nil {
		f.Fatal(err)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	tmpl.logBytes = read(segmentName(0) + logExt)
	tmpl.index = read(segmentName(0) + indexExt)
	tmpl.timeIndex = read(segmentName(0) + timeIndexExt)
	tmpl.checkpoint = read(checkpointName)
	return tmpl
}

// FuzzIndexLoad gives a valid segment arbitrary .index and .timeindex files.
// Opening must not fail or panic, and reads, time lookups and the segment's
// bounds must come out exactly as with the real indexes.
func FuzzIndexLoad(f *testing.F) {
	tmpl := newIndexTemplate(f)
	f.Add(tmpl.index, tmpl.timeIndex)
	f.Add([]byte{}, []byte{})
	f.Add(tmpl.index[:len(tmpl.index)-3], tmpl.timeIndex)
	shifted := bytes.Clone(tmpl.index)
	shifted[len(shifted)-1]++
	f.Add(shifted, tmpl.timeIndex)
	lying := bytes.Clone(tmpl.timeIndex)
	lying[len(lying)-5]++
	f.Add(tmpl.index, lying)
	// Plausible but wrong: the last entry still matches its batch, yet the
	// largest timestamp is gone. Only the clean-close checksums catch this.
	f.Add(tmpl.index, tmpl.timeIndex[:len(tmpl.timeIndex)-timeIndexEntrySize])
	f.Fuzz(func(t *testing.T, index, timeIndex []byte) {
		dir := t.TempDir()
		for name, b := range map[string][]byte{
			segmentName(0) + logExt:       tmpl.logBytes,
			segmentName(0) + indexExt:     index,
			segmentName(0) + timeIndexExt: timeIndex,
			checkpointName:                tmpl.checkpoint,
		} {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		l, err := Open(dir, testConfig(), WithClock(newFakeClock().Now), WithLogger(quietLogger()))
		if err != nil {
			t.Fatalf("Open with fuzzed indexes: %v", err)
		}
		defer l.crash()
		if got := fmt.Sprint(l.segmentInfos()); got != fmt.Sprint(tmpl.infos) {
			t.Fatalf("segment %s, want %s", got, fmt.Sprint(tmpl.infos))
		}
		if got := readAll(t, l); fmt.Sprint(got) != fmt.Sprint(tmpl.recs) {
			t.Fatal("records differ")
		}
		for _, r := range tmpl.recs {
			res, err := l.Read(r.offset, 1, l.EndOffset(), true)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := res.AppendBytes(nil)
			res.Release()
			if h, err := record.ParseHeader(b); err != nil || h.BaseOffset > r.offset || h.LastOffset() < r.offset {
				t.Fatalf("Read(%d) gave [%d,%d]: %v", r.offset, h.BaseOffset, h.LastOffset(), err)
			}
			off, ts, ok, err := l.OffsetForTimestamp(r.ts)
			if want := firstAtOrAfter(tmpl.recs, r.ts); err != nil || !ok || off != want.offset || ts != want.ts {
				t.Fatalf("OffsetForTimestamp(%d) = %d %d %v %v, want %d %d", r.ts, off, ts, ok, err, want.offset, want.ts)
			}
		}
	})
}

// firstAtOrAfter is the first record with a timestamp >= ts.
func firstAtOrAfter(recs []gotRecord, ts int64) gotRecord {
	for _, r := range recs {
		if r.ts >= ts {
			return r
		}
	}
	return gotRecord{}
}

// validPrefix is what recovery must keep of a last segment based at 0: the
// longest run of whole, CRC-valid batches in offset order.
func validPrefix(b []byte) (size int, end int64) {
	for {
		batch, rest, h, err := record.Next(b[size:])
		if err == nil {
			_, err = record.Validate(batch)
		}
		if err != nil || h.BaseOffset < end || h.BaseOffset > math.MaxUint32 {
			return size, end
		}
		size += len(batch)
		end = h.LastOffset() + 1
		_ = rest
	}
}

// FuzzSegmentRecovery opens a last segment made of arbitrary bytes, with no
// index or checkpoint (as after a crash). Recovery must keep exactly the valid
// prefix, byte for byte, and leave a log that reopens the same.
func FuzzSegmentRecovery(f *testing.F) {
	var good []byte
	for i := range 5 {
		b := batchOf(f, kv{key: []byte{byte(i)}, value: bytes.Repeat([]byte{'v'}, 10*i), ts: int64(i)})
		record.SetBaseOffset(b, int64(3*i))
		good = append(good, b...)
	}
	f.Add(good)
	f.Add(good[:len(good)-7])
	f.Add(append(bytes.Clone(good), 0, 0, 0, 0))
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0x40
	f.Add(flipped)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, segmentName(0)+logExt), data, 0o644); err != nil {
			t.Fatal(err)
		}
		size, end := validPrefix(data)
		for round := range 2 {
			l, err := Open(dir, testConfig(), WithClock(newFakeClock().Now), WithLogger(quietLogger()))
			if err != nil {
				t.Fatalf("round %d: Open: %v", round, err)
			}
			if l.EndOffset() != end || l.Size() != int64(size) {
				l.crash()
				t.Fatalf("round %d: end %d size %d, want %d and %d", round, l.EndOffset(), l.Size(), end, size)
			}
			var got []byte
			for next := l.StartOffset(); next < end; {
				res, err := l.Read(next, 1<<20, end, true)
				if err != nil {
					l.crash()
					t.Fatalf("Read(%d): %v", next, err)
				}
				if res.Size == 0 {
					break
				}
				got, _ = res.AppendBytes(got)
				res.Release()
				next = res.NextOffset
			}
			l.crash()
			if !bytes.Equal(got, data[:size]) {
				t.Fatalf("round %d: read %d bytes, want the %d-byte valid prefix", round, len(got), size)
			}
		}
	})
}
