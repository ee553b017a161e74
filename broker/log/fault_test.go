package log

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/broker/record"
)

// batchLoc is where a batch lies in a segment file.
type batchLoc struct {
	pos, size  int64
	base, last int64
}

// diskLayout parses a log folder's segment files directly.
func diskLayout(t *testing.T, dir string) (bases []int64, batches map[int64][]batchLoc) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	batches = map[int64][]batchLoc{}
	for _, e := range ents {
		base, ok := parseSegmentName(e.Name(), logExt)
		if !ok {
			continue
		}
		bases = append(bases, base)
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for pos := 0; pos < len(b); {
			batch, _, h, err := record.Next(b[pos:])
			if err != nil {
				t.Fatalf("template segment %d at %d: %v", base, pos, err)
			}
			batches[base] = append(batches[base], batchLoc{int64(pos), int64(len(batch)), h.BaseOffset, h.LastOffset()})
			pos += len(batch)
		}
	}
	return bases, batches
}

// copyDir makes dst a copy of the flat folder src, reusing dst's files:
// creating files is slow on some CI file systems, rewriting them is not.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	keep := map[string]bool{}
	for _, e := range ents {
		keep[e.Name()] = true
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old, err := os.ReadDir(dst)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range old {
		if !keep[e.Name()] {
			if err := os.Remove(filepath.Join(dst, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// faultTemplate builds a log of mixed batches over several segments and stops
// it by a crash (clean=false: nothing flushed, no checkpoint) or by Close.
func faultTemplate(t *testing.T, clean bool) (dir string, recs []gotRecord, infos []segmentInfo) {
	t.Helper()
	clk := newFakeClock()
	dir = t.TempDir()
	cfg := testConfig()
	cfg.SegmentBytes, cfg.IndexIntervalBytes = 1024, 200
	l := openTest(t, dir, cfg, clk)
	rng := rand.New(rand.NewPCG(7, 7))
	codecs := []record.Compression{record.None, record.None, record.Gzip, record.Zstd}
	for i := range 80 {
		n := 1 + rng.IntN(4)
		rs := make([]kv, n)
		for j := range rs {
			rs[j] = kv{key: fmt.Appendf(nil, "k%d", rng.IntN(50)), value: make([]byte, 10+rng.IntN(100)), ts: clk.Ms() + int64(i*10+j)}
		}
		mustAppend(t, l, buildBatch(t, codecs[rng.IntN(len(codecs))], -1, rs...))
	}
	recs = readAll(t, l)
	infos = l.segmentInfos()
	if clean {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	} else {
		l.crash()
	}
	return dir, recs, infos
}

// flipPos picks a byte of the batch whose damage recovery must detect: any
// byte but baseOffset and partitionLeaderEpoch, which the CRC does not cover.
func flipPos(rng *rand.Rand, b batchLoc) int64 {
	for {
		i := rng.Int64N(b.size)
		if (i >= 0 && i < 8) || (i >= 12 && i < 16) {
			continue
		}
		return b.pos + i
	}
}

func flipByte(t *testing.T, path string, pos int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[pos] ^= byte(1 + pos%255)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkPrefix opens dir and checks that the log holds exactly the template's
// records below end.
func checkPrefix(t *testing.T, dir string, recs []gotRecord, end int64, what string) {
	t.Helper()
	cfg := testConfig()
	cfg.SegmentBytes, cfg.IndexIntervalBytes = 1024, 200
	l, err := Open(dir, cfg, WithClock(newFakeClock().Now), WithLogger(quietLogger()))
	if err != nil {
		t.Fatalf("%s: Open: %v", what, err)
	}
	defer l.crash() // nothing to keep; Close would only add fsyncs
	if l.EndOffset() != end {
		t.Fatalf("%s: end offset %d, want %d", what, l.EndOffset(), end)
	}
	var want []gotRecord
	for _, r := range recs {
		if r.offset < end {
			want = append(want, r)
		}
	}
	if got := readAll(t, l); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: log holds %d records, want %d", what, len(got), len(want))
	}
	// Appends go on from the recovered end.
	if info := mustAppend(t, l, valueBatch(t, 1, 10, 1)); info.BaseOffset != end {
		t.Fatalf("%s: append after recovery at %d, want %d", what, info.BaseOffset, end)
	}
}

func TestRecoveryTornTail(t *testing.T) {
	for _, clean := range []bool{false, true} {
		t.Run(fmt.Sprintf("clean=%v", clean), func(t *testing.T) {
			tmpl, recs, _ := faultTemplate(t, clean)
			bases, batches := diskLayout(t, tmpl)
			last := bases[len(bases)-1]
			lb := batches[last]
			size := lb[len(lb)-1].pos + lb[len(lb)-1].size
			rng := rand.New(rand.NewPCG(1, 2))
			dir := t.TempDir()
			for i := range 60 {
				cut := rng.Int64N(size + 1)
				if i == 0 {
					cut = size // nothing torn
				}
				copyDir(t, tmpl, dir)
				if err := truncateFile(segmentPath(dir, last, logExt), cut); err != nil {
					t.Fatal(err)
				}
				end := last
				for _, b := range lb {
					if b.pos+b.size <= cut {
						end = b.last + 1
					}
				}
				checkPrefix(t, dir, recs, end, fmt.Sprintf("cut at %d of %d", cut, size))
			}
		})
	}
}

func TestRecoveryFlippedByteInLastSegment(t *testing.T) {
	tmpl, recs, _ := faultTemplate(t, false)
	bases, batches := diskLayout(t, tmpl)
	last := bases[len(bases)-1]
	rng := rand.New(rand.NewPCG(3, 4))
	dir := t.TempDir()
	for range 80 {
		lb := batches[last]
		b := lb[rng.IntN(len(lb))]
		pos := flipPos(rng, b)
		copyDir(t, tmpl, dir)
		flipByte(t, segmentPath(dir, last, logExt), pos)
		checkPrefix(t, dir, recs, b.base, fmt.Sprintf("flip at %d in batch %d", pos, b.base))
	}
}

func TestRecoveryFlippedByteInOlderSegment(t *testing.T) {
	tmpl, _, _ := faultTemplate(t, false)
	bases, batches := diskLayout(t, tmpl)
	rng := rand.New(rand.NewPCG(5, 6))
	dir := t.TempDir()
	for range 60 {
		seg := bases[rng.IntN(len(bases)-1)]
		b := batches[seg][rng.IntN(len(batches[seg]))]
		pos := flipPos(rng, b)
		copyDir(t, tmpl, dir)
		path := segmentPath(dir, seg, logExt)
		flipByte(t, path, pos)
		_, err := Open(dir, testConfig(), WithLogger(quietLogger()))
		if !errors.Is(err, ErrCorruptSegment) {
			t.Fatalf("flip at %d of segment %d: Open error %v, want ErrCorruptSegment", pos, seg, err)
		}
		if want := fmt.Sprintf("%s at byte %d", path, b.pos); !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not name %q", err, want)
		}
		// The segment is reported, not repaired: the file is as it was.
		if fi, _ := os.Stat(path); fi.Size() != batches[seg][len(batches[seg])-1].pos+batches[seg][len(batches[seg])-1].size {
			t.Fatalf("older segment was changed by a failed open")
		}
	}
}

// In a segment recovery trusts (below the recovery point), header damage is
// still found by a read that lands on it.
func TestReadReportsDamagedHeader(t *testing.T) {
	tmpl, _, _ := faultTemplate(t, true)
	bases, batches := diskLayout(t, tmpl)
	seg := bases[1]
	b := batches[seg][len(batches[seg])/2]
	flipByte(t, segmentPath(tmpl, seg, logExt), b.pos+16) // magic
	l, err := Open(tmpl, testConfig(), WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = l.Read(b.base, 1<<20, l.EndOffset(), true)
	if !errors.Is(err, ErrCorruptSegment) || !strings.Contains(err.Error(), fmt.Sprintf("at byte %d", b.pos)) {
		t.Fatalf("Read over a damaged header: %v", err)
	}
}

func TestRecoveryRebuildsIndexes(t *testing.T) {
	type damage struct {
		name  string
		apply func(rng *rand.Rand, dir string, base int64)
	}
	rewrite := func(path string, f func([]byte) []byte) {
		b, err := os.ReadFile(path)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, f(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	damages := []damage{
		{"missing index", func(_ *rand.Rand, dir string, base int64) { os.Remove(segmentPath(dir, base, indexExt)) }},
		{"missing time index", func(_ *rand.Rand, dir string, base int64) { os.Remove(segmentPath(dir, base, timeIndexExt)) }},
		{"partial entry", func(_ *rand.Rand, dir string, base int64) {
			rewrite(segmentPath(dir, base, indexExt), func(b []byte) []byte { return append(b, 1, 2, 3) })
		}},
		{"random bytes", func(rng *rand.Rand, dir string, base int64) {
			rewrite(segmentPath(dir, base, indexExt), func(b []byte) []byte {
				out := make([]byte, 8*rng.IntN(10))
				for i := range out {
					out[i] = byte(rng.Uint32())
				}
				return out
			})
		}},
		{"zeroed", func(_ *rand.Rand, dir string, base int64) {
			rewrite(segmentPath(dir, base, indexExt), func(b []byte) []byte { return make([]byte, len(b)) })
		}},
		{"entry points inside a batch", func(rng *rand.Rand, dir string, base int64) {
			rewrite(segmentPath(dir, base, indexExt), func(b []byte) []byte {
				if len(b) >= 8 {
					i := 8 * rng.IntN(len(b)/8)
					pos := binary.BigEndian.Uint32(b[i+4:])
					binary.BigEndian.PutUint32(b[i+4:], pos+1+uint32(rng.IntN(20)))
				}
				return b
			})
		}},
		{"entry names another offset", func(rng *rand.Rand, dir string, base int64) {
			rewrite(segmentPath(dir, base, indexExt), func(b []byte) []byte {
				if len(b) >= 8 {
					i := 8 * rng.IntN(len(b)/8)
					rel := binary.BigEndian.Uint32(b[i:])
					binary.BigEndian.PutUint32(b[i:], rel+1)
				}
				return b
			})
		}},
		{"last time entry lies", func(rng *rand.Rand, dir string, base int64) {
			rewrite(segmentPath(dir, base, timeIndexExt), func(b []byte) []byte {
				if n := len(b); n >= 12 {
					ts := binary.BigEndian.Uint64(b[n-12:])
					binary.BigEndian.PutUint64(b[n-12:], ts+uint64(1+rng.IntN(1000)))
				}
				return b
			})
		}},
	}
	for _, clean := range []bool{true, false} {
		tmpl, recs, infos := faultTemplate(t, clean)
		bases, _ := diskLayout(t, tmpl)
		for _, d := range damages {
			t.Run(fmt.Sprintf("%s/clean=%v", d.name, clean), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(len(d.name)), 9))
				dir := t.TempDir()
				for range 5 {
					copyDir(t, tmpl, dir)
					for _, base := range bases {
						if rng.IntN(2) == 0 {
							d.apply(rng, dir, base)
						}
					}
					l, err := Open(dir, testConfig(), WithClock(newFakeClock().Now), WithLogger(quietLogger()))
					if err != nil {
						t.Fatal(err)
					}
					if got := readAll(t, l); fmt.Sprint(got) != fmt.Sprint(recs) {
						t.Fatalf("records differ after index damage")
					}
					if fmt.Sprint(l.segmentInfos()) != fmt.Sprint(infos) {
						t.Fatalf("segments %+v, want %+v", l.segmentInfos(), infos)
					}
					for i, r := range recs {
						res, err := l.Read(r.offset, 1, l.EndOffset(), true)
						if err != nil {
							t.Fatal(err)
						}
						b, _ := res.AppendBytes(nil)
						res.Release()
						h, err := record.ParseHeader(b)
						if err != nil || h.BaseOffset > r.offset || h.LastOffset() < r.offset {
							t.Fatalf("Read(%d) gave [%d,%d]: %v", r.offset, h.BaseOffset, h.LastOffset(), err)
						}
						if i%5 != 0 {
							continue
						}
						if off, ts, ok, err := l.OffsetForTimestamp(r.ts); err != nil || !ok || ts != r.ts || off > r.offset {
							t.Fatalf("OffsetForTimestamp(%d) = %d %d %v %v, want offset <= %d", r.ts, off, ts, ok, err, r.offset)
						}
					}
					if err := l.repairIndexes(); err != nil {
						t.Fatal(err)
					}
					for _, s := range l.list() {
						if s.indexBad.Load() {
							t.Fatalf("segment %d index still marked bad after maintenance", s.base)
						}
					}
					l.crash()
					// The rebuilt indexes are on disk and valid.
					for _, base := range bases {
						b, err := os.ReadFile(segmentPath(dir, base, indexExt))
						if err != nil {
							t.Fatal(err)
						}
						if _, err := parseIndex(b, 1<<30, maxRelOffset); err != nil {
							t.Fatalf("index of %d after reopen: %v", base, err)
						}
					}
				}
			})
		}
	}
}

// A clean restart rereads about one index interval per segment; a crash with
// nothing flushed rereads everything; after Sync, only what came later.
func TestRecoveryScansFromRecoveryPoint(t *testing.T) {
	clk := newFakeClock()
	dir := t.TempDir()
	cfg := testConfig()
	cfg.SegmentBytes = 1 << 20
	l := openTest(t, dir, cfg, clk)
	for range 100 {
		mustAppend(t, l, valueBatch(t, 1, 100, clk.Ms()))
	}
	size := l.Size()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openTest(t, dir, cfg, clk)
	if l.scannedOnOpen > cfg.IndexIntervalBytes+200 {
		t.Fatalf("clean restart scanned %d bytes of %d", l.scannedOnOpen, size)
	}
	for range 100 {
		mustAppend(t, l, valueBatch(t, 1, 100, clk.Ms()))
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := l.saveCheckpoint(); err != nil {
		t.Fatal(err)
	}
	synced := l.Size()
	for range 50 {
		mustAppend(t, l, valueBatch(t, 1, 100, clk.Ms()))
	}
	total := l.Size()
	l.crash()
	l = openTest(t, dir, cfg, clk)
	if s := l.scannedOnOpen; s < total-synced || s > total-synced+cfg.IndexIntervalBytes+200 {
		t.Fatalf("crash after Sync scanned %d bytes, want about %d", s, total-synced)
	}
	if l.EndOffset() != 250 {
		t.Fatalf("end %d", l.EndOffset())
	}
	l.crash()
	if err := os.Remove(filepath.Join(dir, checkpointName)); err != nil {
		t.Fatal(err)
	}
	l = openTest(t, dir, cfg, clk)
	defer l.Close()
	if l.scannedOnOpen != total {
		t.Fatalf("no checkpoint: scanned %d of %d bytes", l.scannedOnOpen, total)
	}
}

func TestRecoveryIgnoresDamagedCheckpoint(t *testing.T) {
	clk := newFakeClock()
	dir := t.TempDir()
	l := fillLog(t, dir, 40, clk)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, checkpointName), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	l = openTest(t, dir, testConfig(), clk)
	defer l.Close()
	if l.EndOffset() != 80 || len(readAll(t, l)) != 80 {
		t.Fatalf("end %d after a damaged checkpoint", l.EndOffset())
	}
}

// Truncation walks from an index entry; one that points inside a batch must
// not make it fail or cut in the wrong place.
func TestTruncateWithWrongIndexEntries(t *testing.T) {
	tmpl, recs, _ := faultTemplate(t, true)
	bases, _ := diskLayout(t, tmpl)
	rng := rand.New(rand.NewPCG(11, 12))
	dir := t.TempDir()
	for range 20 {
		copyDir(t, tmpl, dir)
		for _, base := range bases {
			path := segmentPath(dir, base, indexExt)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i+8 <= len(b); i += 8 {
				if rng.IntN(2) == 0 {
					binary.BigEndian.PutUint32(b[i+4:], binary.BigEndian.Uint32(b[i+4:])+1)
				}
			}
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		l, err := Open(dir, testConfig(), WithClock(newFakeClock().Now), WithLogger(quietLogger()))
		if err != nil {
			t.Fatal(err)
		}
		r := recs[rng.IntN(len(recs))]
		if err := l.Truncate(r.offset); err != nil {
			t.Fatalf("Truncate(%d): %v", r.offset, err)
		}
		end := l.EndOffset()
		if end > r.offset {
			t.Fatalf("end %d after Truncate(%d)", end, r.offset)
		}
		var want []gotRecord
		for _, x := range recs {
			if x.offset < end {
				want = append(want, x)
			}
		}
		if got := readAll(t, l); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("after Truncate(%d): %d records, want %d", r.offset, len(got), len(want))
		}
		l.crash()
	}
}
