package txn

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/tributary-io/tributary/broker/record"
)

// TestIdempotentAppends runs scripted appends of one or two producers and checks
// each answer: the offsets written, the original offsets of a duplicate, or the
// error Kafka returns.
func TestIdempotentAppends(t *testing.T) {
	type step struct {
		batch      []byte
		fromClient bool
		wantBase   int64 // expected BaseOffset when wantErr is nil
		wantErr    error
	}
	b := func(pid int64, epoch int16, seq int32, n int) []byte {
		return dataBatch(t, batchSpec{pid: pid, epoch: epoch, seq: seq, n: n})
	}
	tb := func(pid int64, epoch int16, seq int32, n int) []byte {
		return dataBatch(t, batchSpec{pid: pid, epoch: epoch, seq: seq, n: n, txn: true})
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"in sequence", []step{
			{b(1, 0, 0, 3), true, 0, nil},
			{b(1, 0, 3, 2), true, 3, nil},
			{b(1, 0, 5, 1), true, 5, nil},
		}},
		{"duplicate returns the original offset", []step{
			{b(1, 0, 0, 3), true, 0, nil},
			{b(2, 0, 0, 4), true, 3, nil},
			{b(1, 0, 3, 2), true, 7, nil},
			{b(1, 0, 0, 3), true, 0, nil},
			{b(1, 0, 3, 2), true, 7, nil},
			{b(1, 0, 5, 1), true, 9, nil},
		}},
		{"duplicate older than the cache is out of order", []step{
			{b(1, 0, 0, 1), true, 0, nil},
			{b(1, 0, 1, 1), true, 1, nil},
			{b(1, 0, 2, 1), true, 2, nil},
			{b(1, 0, 3, 1), true, 3, nil},
			{b(1, 0, 4, 1), true, 4, nil},
			{b(1, 0, 5, 1), true, 5, nil},
			{b(1, 0, 1, 1), true, 1, nil}, // still among the last five
			{b(1, 0, 0, 1), true, 0, ErrOutOfOrderSequence},
		}},
		{"gap is out of order", []step{
			{b(1, 0, 0, 3), true, 0, nil},
			{b(1, 0, 4, 1), true, 0, ErrOutOfOrderSequence},
			{b(1, 0, 3, 1), true, 3, nil},
		}},
		{"older epoch is refused", []step{
			{b(1, 1, 0, 1), true, 0, nil},
			{b(1, 0, 1, 1), true, 0, ErrInvalidProducerEpoch},
		}},
		{"new epoch must start at 0", []step{
			{b(1, 0, 0, 2), true, 0, nil},
			{b(1, 1, 2, 1), true, 0, ErrOutOfOrderSequence},
			{b(1, 1, 0, 1), true, 2, nil},
			{b(1, 0, 2, 1), true, 0, ErrInvalidProducerEpoch},
		}},
		{"a producer without state here may start at any sequence", []step{
			{b(7, 0, 5, 1), true, 0, nil},
			{b(7, 0, 5, 1), true, 0, nil}, // its retry is a duplicate
			{b(7, 0, 7, 1), true, 0, ErrOutOfOrderSequence},
			{b(7, 0, 6, 1), true, 1, nil},
		}},
		{"after a marker alone the sequence starts at 0", []step{
			{markerBatch(t, 3, 2, false), false, 0, nil},
			{b(3, 2, 4, 1), true, 0, ErrOutOfOrderSequence},
			{b(3, 2, 0, 1), true, 1, nil},
		}},
		{"sequences wrap", []step{
			{b(1, 0, 0, 1), true, 0, nil},
			{b(1, 0, math.MaxInt32, 1), true, 0, ErrOutOfOrderSequence},
		}},
		{"clients cannot write markers", []step{
			{markerBatch(t, 1, 0, true), true, 0, ErrControlBatchFromClient},
		}},
		{"non-transactional write inside a transaction", []step{
			{tb(1, 0, 0, 2), true, 0, nil},
			{b(1, 0, 2, 1), true, 0, ErrInvalidTxnState},
			{markerBatch(t, 1, 0, true), false, 2, nil},
			{b(1, 0, 2, 1), true, 3, nil},
		}},
		{"stale marker is fenced", []step{
			{tb(1, 2, 0, 1), true, 0, nil},
			{markerBatch(t, 1, 1, false), false, 0, ErrProducerFenced},
			{markerBatch(t, 1, 3, false), false, 1, nil},
			{tb(1, 2, 1, 1), true, 0, ErrInvalidProducerEpoch},
		}},
		{"coordinator writes skip sequence checks", []step{
			{dataBatch(t, batchSpec{pid: 4, epoch: 0, seq: -1, n: 1, txn: true}), false, 0, nil},
			{dataBatch(t, batchSpec{pid: 4, epoch: 0, seq: -1, n: 1, txn: true}), false, 1, nil},
			{dataBatch(t, batchSpec{pid: 4, epoch: 0, seq: -1, n: 1, txn: true}), true, 0, record.ErrInvalidRecord},
		}},
		{"transactional batch needs a producer id", []step{
			{dataBatch(t, batchSpec{pid: -1, epoch: -1, seq: -1, n: 1, txn: true}), true, 0, record.ErrInvalidRecord},
			{dataBatch(t, batchSpec{pid: -1, epoch: -1, seq: -1, n: 1}), true, 0, nil},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := openPartition(t, t.TempDir(), newFakeClock(), StateConfig{})
			for i, st := range tc.steps {
				info, err := p.append(st.batch, st.fromClient)
				if st.wantErr != nil {
					if !errors.Is(err, st.wantErr) {
						t.Fatalf("step %d: err = %v, want %v", i, err, st.wantErr)
					}
					continue
				}
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if info.BaseOffset != st.wantBase {
					t.Fatalf("step %d: base offset %d, want %d", i, info.BaseOffset, st.wantBase)
				}
			}
		})
	}
}

func TestDuplicateIsNotWrittenAgain(t *testing.T) {
	p := openPartition(t, t.TempDir(), newFakeClock(), StateConfig{})
	batch := dataBatch(t, batchSpec{pid: 9, epoch: 0, seq: 0, n: 10})
	first := p.mustAppend(batch, true)
	again := p.mustAppend(batch, true)
	if again.BaseOffset != first.BaseOffset || again.LastOffset != first.LastOffset {
		t.Fatalf("duplicate answered %d-%d, original %d-%d", again.BaseOffset, again.LastOffset, first.BaseOffset, first.LastOffset)
	}
	if end := p.log.EndOffset(); end != 10 {
		t.Fatalf("log end %d after a duplicate, want 10", end)
	}
}

func TestTransactionsLastStableOffsetAndAbortedIndex(t *testing.T) {
	p := openPartition(t, t.TempDir(), newFakeClock(), StateConfig{})
	tb := func(pid int64, seq int32, n int) []byte {
		return dataBatch(t, batchSpec{pid: pid, epoch: 0, seq: seq, n: n, txn: true})
	}
	if _, ok := p.state.FirstUnstableOffset(); ok {
		t.Fatal("unstable offset before any transaction")
	}
	p.mustAppend(dataBatch(t, batchSpec{pid: -1, epoch: -1, seq: -1, n: 2}), true) // 0-1 plain
	p.mustAppend(tb(1, 0, 3), true)                                                // 2-4 pid 1
	p.mustAppend(tb(2, 0, 2), true)                                                // 5-6 pid 2
	p.mustAppend(tb(1, 3, 1), true)                                                // 7 pid 1
	if off, ok := p.state.FirstUnstableOffset(); !ok || off != 2 {
		t.Fatalf("first unstable offset %d %v, want 2", off, ok)
	}
	p.mustAppend(markerBatch(t, 1, 0, false), false) // 8: abort pid 1 (2..8)
	if off, ok := p.state.FirstUnstableOffset(); !ok || off != 5 {
		t.Fatalf("first unstable offset %d %v, want 5", off, ok)
	}
	p.mustAppend(markerBatch(t, 2, 0, true), false) // 9: commit pid 2
	if off, ok := p.state.FirstUnstableOffset(); ok {
		t.Fatalf("first unstable offset %d after every transaction ended", off)
	}
	p.mustAppend(tb(2, 2, 1), true)                  // 10
	p.mustAppend(markerBatch(t, 2, 0, false), false) // 11: abort pid 2 (10..11)

	want1 := AbortedTxn{ProducerID: 1, FirstOffset: 2, LastOffset: 8}
	want2 := AbortedTxn{ProducerID: 2, FirstOffset: 10, LastOffset: 11}
	cases := []struct {
		from, upTo int64
		want       []AbortedTxn
	}{
		{0, 12, []AbortedTxn{want1, want2}},
		{0, 2, nil},
		{0, 3, []AbortedTxn{want1}},
		{8, 10, []AbortedTxn{want1}},
		{9, 12, []AbortedTxn{want2}},
		{9, 10, nil},
		{12, 20, nil},
	}
	for _, tc := range cases {
		if got := p.state.AbortedTransactions(tc.from, tc.upTo); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("aborted in [%d,%d) = %+v, want %+v", tc.from, tc.upTo, got, tc.want)
		}
	}
}

// TestRebuildAndSnapshot checks that the state after a restart is the state
// before it: rebuilt from the log alone, from a snapshot alone, and from a
// snapshot plus the log after it.
func TestRebuildAndSnapshot(t *testing.T) {
	fill := func(p *partition, pid int64, from int32) {
		for i := int32(0); i < 8; i++ {
			p.mustAppend(dataBatch(t, batchSpec{pid: pid, epoch: 1, seq: from + i*2, n: 2, txn: pid%2 == 0}), true)
		}
		if pid%2 == 0 {
			p.mustAppend(markerBatch(t, pid, 1, pid%4 == 0), false)
		}
	}
	cases := []struct {
		name     string
		snapshot bool // a snapshot at close
		more     bool // appends after the snapshot, then an unclean close
	}{
		{"log only", false, false},
		{"snapshot only", true, false},
		{"snapshot and tail", true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			p := openPartition(t, t.TempDir(), clock, StateConfig{})
			for pid := int64(1); pid <= 4; pid++ {
				fill(p, pid, 0)
			}
			p.mustAppend(dataBatch(t, batchSpec{pid: 6, epoch: 0, seq: 0, n: 1, txn: true}), true) // left open
			if tc.more {
				p = p.reopen(true)
				fill(p, 1, 16)
				fill(p, 2, 16)
			}
			wantProducers := stripTimestamps(p.state.Producers())
			wantAborted := p.state.AbortedTransactions(0, math.MaxInt64)
			wantLSO, _ := p.state.FirstUnstableOffset()
			p = p.reopen(tc.snapshot && !tc.more)
			if got := stripTimestamps(p.state.Producers()); !reflect.DeepEqual(got, wantProducers) {
				t.Fatalf("producers after reopen:\n%+v\nwant\n%+v", got, wantProducers)
			}
			if got := p.state.AbortedTransactions(0, math.MaxInt64); !reflect.DeepEqual(got, wantAborted) {
				t.Fatalf("aborted after reopen %+v, want %+v", got, wantAborted)
			}
			if got, ok := p.state.FirstUnstableOffset(); !ok || got != wantLSO {
				t.Fatalf("first unstable offset %d %v, want %d", got, ok, wantLSO)
			}
			// The rebuilt state keeps deduplicating and sequencing.
			last := p.state.Producers()[0]
			dup := dataBatch(t, batchSpec{pid: 1, epoch: 1, seq: last.Batches[len(last.Batches)-1].FirstSeq, n: 2})
			if info := p.mustAppend(dup, true); info.BaseOffset != last.Batches[len(last.Batches)-1].FirstOffset {
				t.Fatalf("duplicate after reopen answered %d, want %d", info.BaseOffset, last.Batches[len(last.Batches)-1].FirstOffset)
			}
			if _, err := p.append(dataBatch(t, batchSpec{pid: 1, epoch: 1, seq: last.LastSeq() + 2, n: 1}), true); !errors.Is(err, ErrOutOfOrderSequence) {
				t.Fatalf("gap after reopen: %v", err)
			}
		})
	}
}

// stripTimestamps drops LastTimestamp, which is the append time for live
// appends but the reopen time when rebuilt from the log.
func stripTimestamps(ps []Producer) []Producer {
	for i := range ps {
		ps[i].LastTimestamp = 0
	}
	return ps
}

func TestSnapshotIsUsedOnRestart(t *testing.T) {
	clock := newFakeClock()
	p := openPartition(t, t.TempDir(), clock, StateConfig{})
	p.mustAppend(dataBatch(t, batchSpec{pid: 5, epoch: 0, seq: 0, n: 1}), true)
	live, _ := p.state.Producer(5)
	clock.Advance(time.Minute)
	p = p.reopen(true)
	got, ok := p.state.Producer(5)
	// Only the snapshot has the append time; a rescan would stamp the reopen time.
	if !ok || got.LastTimestamp != live.LastTimestamp {
		t.Fatalf("producer after reopen %+v, live %+v: snapshot not used", got, live)
	}
	if offs, _ := listSnapshots(p.dir); len(offs) != 1 || offs[0] != 1 {
		t.Fatalf("snapshots %v, want [1]", offs)
	}
}

func TestSnapshotsAreTakenAndPruned(t *testing.T) {
	p := openPartition(t, t.TempDir(), newFakeClock(), StateConfig{SnapshotBytes: 200})
	for i := range int32(20) {
		p.mustAppend(dataBatch(t, batchSpec{pid: 1, epoch: 0, seq: i * 3, n: 3}), true)
	}
	offs, err := listSnapshots(p.dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(offs) != snapshotsKept {
		t.Fatalf("%d snapshots kept (%v), want %d", len(offs), offs, snapshotsKept)
	}
	if offs[0] <= offs[1] || offs[0] > 60 {
		t.Fatalf("snapshot offsets %v", offs)
	}
}

func TestUnusableSnapshotsFallBack(t *testing.T) {
	cases := []struct {
		name   string
		damage func(t *testing.T, dir string)
	}{
		{"flipped byte", func(t *testing.T, dir string) {
			path := filepath.Join(dir, snapshotName(4))
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)-3] ^= 0xff
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"truncated", func(t *testing.T, dir string) {
			if err := os.Truncate(filepath.Join(dir, snapshotName(4)), 9); err != nil {
				t.Fatal(err)
			}
		}},
		{"beyond the log end", func(t *testing.T, dir string) {
			b, err := os.ReadFile(filepath.Join(dir, snapshotName(4)))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, snapshotName(99)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := openPartition(t, t.TempDir(), newFakeClock(), StateConfig{})
			for i := range int32(4) {
				p.mustAppend(dataBatch(t, batchSpec{pid: 1, epoch: 0, seq: i, n: 1}), true)
			}
			p.close(true)
			tc.damage(t, p.dir)
			p = openPartition(t, p.dir, p.clock, StateConfig{})
			got, ok := p.state.Producer(1)
			if !ok || got.LastSeq() != 3 {
				t.Fatalf("producer after reopen %+v %v, want last sequence 3", got, ok)
			}
			if _, err := os.Stat(filepath.Join(p.dir, snapshotName(99))); !os.IsNotExist(err) {
				t.Fatalf("snapshot beyond the log end still there: %v", err)
			}
		})
	}
}

func TestProducerExpiration(t *testing.T) {
	clock := newFakeClock()
	cfg := StateConfig{ProducerIDExpiration: time.Hour, ExpirationCheckInterval: time.Minute}
	p := openPartition(t, t.TempDir(), clock, cfg)
	p.mustAppend(dataBatch(t, batchSpec{pid: 1, epoch: 0, seq: 0, n: 5}), true)
	p.mustAppend(dataBatch(t, batchSpec{pid: 2, epoch: 0, seq: 0, n: 1, txn: true}), true)
	clock.Advance(59 * time.Minute)
	p.mustAppend(dataBatch(t, batchSpec{pid: 3, epoch: 0, seq: 0, n: 1}), true)
	if _, ok := p.state.Producer(1); !ok {
		t.Fatal("producer 1 expired early")
	}
	clock.Advance(2 * time.Minute)
	p.mustAppend(dataBatch(t, batchSpec{pid: 3, epoch: 0, seq: 1, n: 1}), true)
	if _, ok := p.state.Producer(1); ok {
		t.Fatal("producer 1 not expired after an hour")
	}
	if _, ok := p.state.Producer(2); !ok {
		t.Fatal("producer 2 with an open transaction expired")
	}
	// Expired producers are not brought back by a restart either.
	p = p.reopen(true)
	if _, ok := p.state.Producer(1); ok {
		t.Fatal("expired producer back after reopen")
	}
	// The expired producer carries on where it was: accepted, and known again.
	p.mustAppend(dataBatch(t, batchSpec{pid: 1, epoch: 0, seq: 5, n: 1}), true)
	if got, ok := p.state.Producer(1); !ok || got.LastSeq() != 5 {
		t.Fatalf("producer 1 after its next write: %+v %v, want last sequence 5", got, ok)
	}
}

func TestLastSequenceWraps(t *testing.T) {
	cases := []struct {
		base  int32
		delta int32
		want  int32
	}{
		{0, 0, 0},
		{10, 4, 14},
		{math.MaxInt32, 0, math.MaxInt32},
		{math.MaxInt32, 1, 0},
		{math.MaxInt32 - 1, 3, 1},
	}
	for _, tc := range cases {
		if got := lastSequence(record.Header{BaseSequence: tc.base, LastOffsetDelta: tc.delta}); got != tc.want {
			t.Errorf("lastSequence(%d+%d) = %d, want %d", tc.base, tc.delta, got, tc.want)
		}
	}
	if !inSequence(math.MaxInt32, 0) || inSequence(5, 7) || !inSequence(5, 6) {
		t.Fatal("inSequence")
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	st := snapshotState{
		offset: 100,
		producers: map[int64]*Producer{
			7: {ID: 7, Epoch: 2, CoordinatorEpoch: 4, LastTimestamp: 55, TxnFirstOffset: 90,
				Batches: []BatchMeta{{FirstSeq: 0, LastSeq: 4, FirstOffset: 80, LastOffset: 84, Timestamp: 9}}},
			3: {ID: 3, Epoch: 0, CoordinatorEpoch: -1, LastTimestamp: 1, TxnFirstOffset: -1},
		},
		aborted: []AbortedTxn{{ProducerID: 7, FirstOffset: 10, LastOffset: 20}, {ProducerID: 3, FirstOffset: 5, LastOffset: 30}},
	}
	got, err := decodeSnapshot(encodeSnapshot(st))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, st) {
		t.Fatalf("round trip:\n%+v\nwant\n%+v", got, st)
	}
}

func TestCleanCloseWritesOnlyWhatChanged(t *testing.T) {
	p := openPartition(t, t.TempDir(), newFakeClock(), StateConfig{})
	p.mustAppend(dataBatch(t, batchSpec{pid: 1, epoch: 0, seq: 0, n: 2}), true)
	p = p.reopen(true)
	info, err := os.Stat(filepath.Join(p.dir, snapshotName(2)))
	if err != nil {
		t.Fatal(err)
	}
	// Nothing appended: the close leaves the snapshot as it is.
	if err := os.Chtimes(filepath.Join(p.dir, snapshotName(2)), info.ModTime(), info.ModTime().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	p = p.reopen(true)
	again, err := os.Stat(filepath.Join(p.dir, snapshotName(2)))
	if err != nil {
		t.Fatal(err)
	}
	if !again.ModTime().Equal(info.ModTime().Add(-time.Hour)) {
		t.Fatal("an unchanged partition wrote its snapshot again")
	}
	p.mustAppend(dataBatch(t, batchSpec{pid: 1, epoch: 0, seq: 2, n: 1}), true)
	p = p.reopen(true)
	if offs, _ := listSnapshots(p.dir); len(offs) != 2 || offs[0] != 3 {
		t.Fatalf("snapshots %v, want one at 3", offs)
	}
}

func TestReloadAfterTruncation(t *testing.T) {
	p := openPartition(t, t.TempDir(), newFakeClock(), StateConfig{})
	p.mustAppend(dataBatch(t, batchSpec{pid: 1, epoch: 0, seq: 0, n: 2}), true) // 0-1
	p.mustAppend(dataBatch(t, batchSpec{pid: 1, epoch: 0, seq: 2, n: 2}), true) // 2-3
	p.state.mu.Lock()
	err := p.state.snapshotLocked(4) // a snapshot the truncation invalidates
	p.state.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	p.mustAppend(dataBatch(t, batchSpec{pid: 2, epoch: 0, seq: 0, n: 1, txn: true}), true) // 4
	if err := p.log.Truncate(2); err != nil {
		t.Fatal(err)
	}
	if err := p.state.Reload(); err != nil {
		t.Fatal(err)
	}
	if got, ok := p.state.Producer(1); !ok || got.LastSeq() != 1 {
		t.Fatalf("producer 1 after truncation to 2: %+v %v, want last sequence 1", got, ok)
	}
	if _, ok := p.state.Producer(2); ok {
		t.Fatal("producer 2 survived the truncation of its only batch")
	}
	if _, ok := p.state.FirstUnstableOffset(); ok {
		t.Fatal("the truncated transaction is still open")
	}
	if offs, _ := listSnapshots(p.dir); len(offs) != 0 {
		t.Fatalf("snapshots above the log end kept: %v", offs)
	}
	// The rewound producer writes its next sequence again.
	if info := p.mustAppend(dataBatch(t, batchSpec{pid: 1, epoch: 0, seq: 2, n: 1}), true); info.BaseOffset != 2 {
		t.Fatalf("append after reload at %d, want 2", info.BaseOffset)
	}
}

// TestMarkerFromOlderCoordinatorIsFenced: once a coordinator of epoch 3 has
// written a producer's marker here, a marker of epoch 2 (a coordinator that lost
// its partition, still retrying) is refused, while the same epoch or a newer one
// is accepted.
func TestMarkerFromOlderCoordinatorIsFenced(t *testing.T) {
	p := openPartition(t, t.TempDir(), newFakeClock(), StateConfig{})
	marker := func(coordEpoch int32, commit bool) []byte {
		b, err := MarkerBatch(Marker{ProducerID: 7, ProducerEpoch: 0, Commit: commit, CoordinatorEpoch: coordEpoch}, time.UnixMilli(1_600_000_000_000))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	p.mustAppend(dataBatch(t, batchSpec{pid: 7, epoch: 0, seq: 0, n: 2, txn: true}), true)
	p.mustAppend(marker(3, true), false)
	p.mustAppend(dataBatch(t, batchSpec{pid: 7, epoch: 0, seq: 2, n: 1, txn: true}), true)
	if _, err := p.append(marker(2, false), false); !errors.Is(err, ErrTransactionCoordinatorFenced) {
		t.Fatalf("marker from coordinator epoch 2 after 3: %v, want ErrTransactionCoordinatorFenced", err)
	}
	if off, ok := p.state.FirstUnstableOffset(); !ok || off != 3 {
		t.Fatalf("the fenced abort changed the open transaction: first unstable offset %d %v, want 3", off, ok)
	}
	p.mustAppend(marker(3, true), false) // the same coordinator retrying
	p.mustAppend(marker(4, false), false)
	if got, _ := p.state.Producer(7); got.CoordinatorEpoch != 4 {
		t.Fatalf("coordinator epoch %d after a marker of epoch 4", got.CoordinatorEpoch)
	}
}
