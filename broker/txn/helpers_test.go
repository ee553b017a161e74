package txn

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/tributary-io/tributary/broker/log"
	"github.com/tributary-io/tributary/broker/record"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.UnixMilli(1_700_000_000_000)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// batchSpec describes a producer batch for tests.
type batchSpec struct {
	pid   int64
	epoch int16
	seq   int32
	n     int // records
	txn   bool
}

// dataBatch builds a batch of n records for a producer.
func dataBatch(t testing.TB, b batchSpec) []byte {
	t.Helper()
	recs := make([]record.Record, b.n)
	for i := range recs {
		recs[i] = record.Record{OffsetDelta: int32(i), Value: fmt.Appendf(nil, "v%d", i)}
	}
	var attrs int16
	if b.txn {
		attrs = record.AttrTransactional
	}
	out, err := record.Build(record.BatchSpec{
		Attributes:    attrs,
		BaseTimestamp: 1_600_000_000_000,
		ProducerID:    b.pid,
		ProducerEpoch: b.epoch,
		BaseSequence:  b.seq,
	}, recs)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func markerBatch(t testing.TB, pid int64, epoch int16, commit bool) []byte {
	t.Helper()
	b, err := MarkerBatch(Marker{ProducerID: pid, ProducerEpoch: epoch, Commit: commit, CoordinatorEpoch: 3}, time.UnixMilli(1_600_000_000_000))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// partition is a log with its producer state, appended to as
// replication.Partition does.
type partition struct {
	t     testing.TB
	dir   string
	log   *log.Log
	state *PartitionState
	clock *fakeClock
	cfg   StateConfig
}

func openPartition(t testing.TB, dir string, clock *fakeClock, cfg StateConfig) *partition {
	t.Helper()
	l, err := log.Open(dir, log.DefaultConfig(), log.WithClock(clock.Now), log.WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Now, cfg.Logger = clock.Now, quietLogger()
	s, err := OpenPartition(l, "test-0", cfg)
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	p := &partition{t: t, dir: dir, log: l, state: s, clock: clock, cfg: cfg}
	t.Cleanup(func() { p.close(false) })
	return p
}

// append checks, appends and records batches, returning the offsets the caller
// would answer with.
func (p *partition) append(b []byte, fromClient bool) (log.AppendInfo, error) {
	p.t.Helper()
	b = append([]byte(nil), b...)
	dup, err := p.state.Check(b, fromClient)
	if err != nil {
		return log.AppendInfo{}, err
	}
	if dup != nil {
		return *dup, nil
	}
	info, err := p.log.Append(b, 0)
	if err != nil {
		p.t.Fatal(err)
	}
	p.state.Appended(b, info)
	return info, nil
}

func (p *partition) mustAppend(b []byte, fromClient bool) log.AppendInfo {
	p.t.Helper()
	info, err := p.append(b, fromClient)
	if err != nil {
		p.t.Fatal(err)
	}
	return info
}

// close closes the state (with a snapshot when asked) and the log.
func (p *partition) close(snapshot bool) {
	if p.log == nil {
		return
	}
	if err := p.state.Close(snapshot); err != nil {
		p.t.Error(err)
	}
	if err := p.log.Close(); err != nil {
		p.t.Error(err)
	}
	p.log = nil
}

// reopen closes and opens the partition again over the same folder.
func (p *partition) reopen(snapshot bool) *partition {
	p.t.Helper()
	p.close(snapshot)
	return openPartition(p.t, p.dir, p.clock, p.cfg)
}
