package log

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/tributary-io/tributary/broker/record"
)

// model is the simple in-memory log the randomized test compares against: a
// list of records with their batch's base offset, and the two bounds.
type model struct {
	recs       []modelRec // offsets >= start, increasing
	start, end int64
}

type modelRec struct {
	gotRecord
	batchBase int64
}

func (m *model) records() []gotRecord {
	out := make([]gotRecord, len(m.recs))
	for i, r := range m.recs {
		out[i] = r.gotRecord
	}
	return out
}

// from returns the records at or after offset.
func (m *model) from(offset int64) []modelRec {
	i, _ := slices.BinarySearchFunc(m.recs, offset, func(r modelRec, off int64) int { return int(r.offset - off) })
	return m.recs[i:]
}

func (m *model) dropBelow(offset int64) { m.recs = m.from(offset) }

func (m *model) dropFrom(offset int64) { m.recs = m.recs[:len(m.recs)-len(m.from(offset))] }

// TestModel runs thousands of random operations against a Log and the model,
// checking they agree. Seeds are fixed, so a failure reproduces; the seed and
// operation number are in the failure message.
func TestModel(t *testing.T) {
	seeds := uint64(3)
	if s := os.Getenv("LOG_MODEL_SEEDS"); s != "" {
		fmt.Sscan(s, &seeds) // longer local runs: LOG_MODEL_SEEDS=200
	}
	for seed := uint64(1); seed <= seeds; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { runModel(t, seed, 1500) })
	}
}

func runModel(t *testing.T, seed uint64, ops int) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	clk := newFakeClock()
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.CleanupPolicy = "compact,delete"
	cfg.SegmentBytes = int64(800 + rng.IntN(3000))
	cfg.IndexIntervalBytes = []int64{1, 100, 4096}[rng.IntN(3)]
	cfg.SegmentMs = int64(30 * time.Minute / time.Millisecond)
	cfg.DeleteRetentionMs = int64(20 * time.Minute / time.Millisecond)
	cfg.RetentionMs = -1
	l := openTest(t, dir, cfg, clk)
	defer func() { l.Close() }()
	m := &model{}
	codecs := []record.Compression{record.None, record.None, record.None, record.Snappy, record.LZ4}

	step := 0
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d op %d: %s", seed, step, fmt.Sprintf(format, args...))
	}
	checkAll := func() {
		t.Helper()
		if l.StartOffset() != m.start || l.EndOffset() != m.end {
			fail("bounds [%d,%d), model [%d,%d)", l.StartOffset(), l.EndOffset(), m.start, m.end)
		}
		got, want := readAll(t, l), m.records()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			fail("log and model differ:\n log %v\nmodel %v", got, want)
		}
	}

	for step = 0; step < ops; step++ {
		switch op := rng.IntN(100); {
		case op < 45: // append
			n := 1 + rng.IntN(5)
			ts := clk.Ms()
			rs := make([]kv, n)
			for i := range rs {
				rs[i] = kv{key: fmt.Appendf(nil, "key%d", rng.IntN(25)), value: fmt.Appendf(nil, "v%d-%d", step, i), ts: ts}
				if rng.IntN(10) == 0 {
					rs[i].value = nil
				}
			}
			info, err := l.Append(buildBatch(t, codecs[rng.IntN(len(codecs))], -1, rs...), 3)
			if err != nil {
				fail("append: %v", err)
			}
			if info.BaseOffset != m.end {
				fail("append at %d, model end %d", info.BaseOffset, m.end)
			}
			for i, r := range rs {
				m.recs = append(m.recs, modelRec{gotRecord{offset: m.end + int64(i), key: string(r.key), value: string(r.value), null: r.value == nil, ts: ts}, m.end})
			}
			m.end += int64(n)

		case op < 65: // read
			if m.end == m.start {
				continue
			}
			off := m.start + rng.Int64N(m.end-m.start+1)
			upTo := off + rng.Int64N(m.end-off+1)
			if rng.IntN(2) == 0 {
				upTo = m.end
			}
			res, err := l.Read(off, rng.Int64N(3000), upTo, rng.IntN(2) == 0)
			if err != nil {
				fail("Read(%d): %v", off, err)
			}
			b, err := res.AppendBytes(nil)
			res.Release()
			if err != nil {
				fail("read bytes: %v", err)
			}
			want := m.from(off)
			i := 0
			for len(b) > 0 {
				batch, rest, h, err := record.Next(b)
				if err == nil {
					_, err = record.Validate(batch)
				}
				if err != nil || h.LastOffset() >= upTo {
					fail("Read(%d, upTo %d): batch [%d,%d]: %v", off, upTo, h.BaseOffset, h.LastOffset(), err)
				}
				recs, _ := record.Records(batch)
				for _, r := range recs {
					o := h.BaseOffset + int64(r.OffsetDelta)
					if o < off {
						continue
					}
					if i >= len(want) || want[i].offset != o || want[i].key != string(r.Key) || want[i].value != string(r.Value) {
						fail("Read(%d): record at %d (%s) does not match the model", off, o, r.Key)
					}
					i++
				}
				b = rest
			}

		case op < 68: // truncate
			if m.end == m.start {
				continue
			}
			to := m.start + rng.Int64N(m.end-m.start+1)
			if rng.IntN(10) == 0 {
				to = m.start - rng.Int64N(3) // at or below the start restarts the log
				to = max(to, 0)
			}
			if err := l.Truncate(to); err != nil {
				fail("Truncate(%d): %v", to, err)
			}
			if to <= m.start {
				m.recs, m.start, m.end = nil, to, to
				continue
			}
			newEnd := to
			if rest := m.from(to); len(rest) > 0 && rest[0].batchBase < to {
				newEnd = max(rest[0].batchBase, m.start)
			}
			m.dropFrom(newEnd)
			m.end = newEnd

		case op < 71: // DeleteRecords
			to := m.start + rng.Int64N(m.end-m.start+1)
			if err := l.AdvanceStartOffset(to); err != nil {
				fail("AdvanceStartOffset(%d): %v", to, err)
			}
			m.dropBelow(to)
			m.start = to

		case op < 74: // retention by time or size
			c := cfg
			if rng.IntN(2) == 0 {
				c.RetentionMs = rng.Int64N(int64(time.Hour / time.Millisecond))
			} else {
				c.RetentionBytes = 1 + rng.Int64N(3*cfg.SegmentBytes)
			}
			if err := l.SetConfig(c); err != nil {
				fail("SetConfig: %v", err)
			}
			before := l.segmentInfos()
			st, err := l.ApplyRetention()
			if err != nil {
				fail("retention: %v", err)
			}
			if err := l.SetConfig(cfg); err != nil {
				fail("SetConfig: %v", err)
			}
			wantDeleted := expectRetention(before, m.start, c, clk.Ms())
			if st.SegmentsDeleted != wantDeleted {
				fail("retention deleted %d segments, want %d (%+v)", st.SegmentsDeleted, wantDeleted, before)
			}
			if wantDeleted > 0 {
				m.start = max(m.start, before[wantDeleted].base)
				m.dropBelow(m.start)
			}

		case op < 77: // compaction
			segs := l.segmentInfos()
			active := segs[len(segs)-1].base
			if _, err := l.Compact(); err != nil {
				fail("compact: %v", err)
			}
			compactModel(m, active, clk.Ms(), cfg.DeleteRetentionMs)

		case op < 80: // time lookup
			if len(m.recs) == 0 {
				continue
			}
			target := m.recs[0].ts + rng.Int64N(m.recs[len(m.recs)-1].ts-m.recs[0].ts+2)
			off, ts, ok, err := l.OffsetForTimestamp(target)
			if err != nil {
				fail("OffsetForTimestamp: %v", err)
			}
			i := slices.IndexFunc(m.recs, func(r modelRec) bool { return r.ts >= target })
			if ok != (i >= 0) || (ok && (off != m.recs[i].offset || ts != m.recs[i].ts)) {
				fail("OffsetForTimestamp(%d) = %d %d %v, model index %d", target, off, ts, ok, i)
			}

		case op < 90: // time passes
			clk.Advance(time.Duration(rng.Int64N(int64(5 * time.Minute))))

		case op < 93:
			if err := l.Sync(); err != nil {
				fail("Sync: %v", err)
			}

		case op < 96: // background maintenance: flush, checkpoint, retention, compaction when due
			segs := l.segmentInfos()
			if _, err := l.ApplyRetention(); err != nil { // what maintain would delete first
				fail("retention: %v", err)
			}
			if n := expectRetention(segs, m.start, cfg, clk.Ms()); n > 0 {
				m.start = max(m.start, segs[n].base)
				m.dropBelow(m.start)
			}
			segs = l.segmentInfos()
			due := l.compactionDue(&cfg, clk.Ms())
			if err := l.maintain(); err != nil {
				fail("maintain: %v", err)
			}
			if due {
				compactModel(m, segs[len(segs)-1].base, clk.Ms(), cfg.DeleteRetentionMs)
			}
			checkAll()

		case op < 98: // clean restart
			if err := l.Close(); err != nil {
				fail("Close: %v", err)
			}
			l = openTest(t, dir, cfg, clk)
			checkAll()

		default: // crash restart: the files hold every write, so nothing is lost
			l.crash()
			l = openTest(t, dir, cfg, clk)
			checkAll()
		}
		if step%100 == 0 {
			checkAll()
		}
		if m.end-m.start > 2000 {
			to := m.end - 1000
			if err := l.AdvanceStartOffset(to); err != nil {
				fail("trim: %v", err)
			}
			m.dropBelow(to)
			m.start = to
		}
	}
	checkAll()
}

// compactModel applies a compaction of everything below active to the model.
func compactModel(m *model, active, nowMs, deleteRetention int64) {
	keep := map[int64]bool{}
	for _, r := range expectCompacted(m.records(), active, nowMs, deleteRetention) {
		keep[r.offset] = true
	}
	m.recs = slices.DeleteFunc(m.recs, func(r modelRec) bool { return !keep[r.offset] })
}

// expectRetention applies the retention rules of ApplyRetention's doc to a
// segment list.
func expectRetention(segs []segmentInfo, start int64, cfg Config, nowMs int64) int {
	total := sumSize(segs)
	n := 0
	for ; n < len(segs)-1; n++ {
		s := segs[n]
		expired := cfg.RetentionMs >= 0 && s.maxTs >= 0 && nowMs-s.maxTs > cfg.RetentionMs
		tooBig := cfg.RetentionBytes >= 0 && total-s.size >= cfg.RetentionBytes
		if segs[n+1].base > start && s.size > 0 && !expired && !tooBig {
			break
		}
		total -= s.size
	}
	return n
}
