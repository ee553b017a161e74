package txn

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"
)

// memLog is an in-memory Log with fault injection.
type memLog struct {
	mu      sync.Mutex
	batches map[int32][][]byte
	fail    error
}

func newMemLog() *memLog { return &memLog{batches: map[int32][][]byte{}} }

func (m *memLog) Append(p int32, b []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.batches[p] = append(m.batches[p], append([]byte(nil), b...))
	return nil
}

func (m *memLog) Replay(p int32, fn func([]byte) error) error {
	m.mu.Lock()
	bs := slices.Clone(m.batches[p])
	m.mu.Unlock()
	for _, b := range bs {
		if err := fn(b); err != nil {
			return err
		}
	}
	return nil
}

func (m *memLog) setFail(err error) {
	m.mu.Lock()
	m.fail = err
	m.mu.Unlock()
}

// markerLog records markers per partition, with fault injection.
type markerLog struct {
	mu      sync.Mutex
	written map[TopicPartition][]Marker
	fail    error
}

func newMarkerLog() *markerLog { return &markerLog{written: map[TopicPartition][]Marker{}} }

func (m *markerLog) WriteMarker(tp TopicPartition, mk Marker) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.written[tp] = append(m.written[tp], mk)
	return nil
}

func (m *markerLog) setFail(err error) {
	m.mu.Lock()
	m.fail = err
	m.mu.Unlock()
}

// last returns the last marker written to tp.
func (m *markerLog) last(tp TopicPartition) (Marker, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ms := m.written[tp]
	if len(ms) == 0 {
		return Marker{}, false
	}
	return ms[len(ms)-1], true
}

func (m *markerLog) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, ms := range m.written {
		n += len(ms)
	}
	return n
}

// counter is a BlockAllocator counting from zero.
type counter struct {
	mu   sync.Mutex
	next int64
}

func (c *counter) AllocateProducerIDs(_ int32, n int64) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	first := c.next
	c.next += n
	return first, nil
}

type harness struct {
	t       *testing.T
	clock   *fakeClock
	log     *memLog
	markers *markerLog
	alloc   *counter
	c       *Coordinator
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, clock: newFakeClock(), log: newMemLog(), markers: newMarkerLog(), alloc: &counter{}}
	h.start()
	return h
}

// start starts a coordinator over the harness's log (a restart when one ran).
func (h *harness) start() {
	h.t.Helper()
	if h.c != nil {
		h.c.Stop()
	}
	cfg := Config{
		Partitions:            5,
		AbortTimedOutInterval: time.Hour, // the tests tick by hand
		Now:                   h.clock.Now,
		Logger:                quietLogger(),
	}
	c, err := New(cfg, h.log, h.markers, NewIDManager(h.alloc, 1, 10))
	if err != nil {
		h.t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	h.c = c
	h.t.Cleanup(c.Stop)
}

func (h *harness) init(id string) (int64, int16) {
	h.t.Helper()
	p, e, err := h.c.InitProducerID(id, InitRequest{Timeout: time.Minute, ProducerID: -1, Epoch: -1})
	if err != nil {
		h.t.Fatal(err)
	}
	return p, e
}

func (h *harness) state(id string) Txn {
	h.t.Helper()
	x, err := h.c.Describe(id)
	if err != nil {
		h.t.Fatal(err)
	}
	return x
}

func TestCoordinatorCommitAndAbort(t *testing.T) {
	for _, commit := range []bool{true, false} {
		t.Run(fmt.Sprint("commit=", commit), func(t *testing.T) {
			h := newHarness(t)
			pid, epoch := h.init("tx")
			if err := h.c.AddPartitions("tx", pid, epoch, []TopicPartition{tpA, tpB}); err != nil {
				t.Fatal(err)
			}
			if err := h.c.AddPartitions("tx", pid, epoch, []TopicPartition{tpA}); err != nil {
				t.Fatal(err)
			}
			if got := h.state("tx"); got.State != Ongoing || !reflect.DeepEqual(got.Partitions, []TopicPartition{tpA, tpB}) {
				t.Fatalf("after adds: %+v", got)
			}
			if err := h.c.EndTxn("tx", pid, epoch, commit); err != nil {
				t.Fatal(err)
			}
			want := Marker{ProducerID: pid, ProducerEpoch: epoch, Commit: commit}
			for _, tp := range []TopicPartition{tpA, tpB} {
				if m, ok := h.markers.last(tp); !ok || m != want {
					t.Fatalf("marker on %v = %+v %v, want %+v", tp, m, ok, want)
				}
			}
			wantState := CompleteAbort
			if commit {
				wantState = CompleteCommit
			}
			if got := h.state("tx"); got.State != wantState || len(got.Partitions) != 0 {
				t.Fatalf("after EndTxn: %+v", got)
			}
			// A retried EndTxn succeeds without writing markers again.
			n := h.markers.count()
			if err := h.c.EndTxn("tx", pid, epoch, commit); err != nil {
				t.Fatal(err)
			}
			if h.markers.count() != n {
				t.Fatal("a retried EndTxn wrote markers again")
			}
			// The state survives a restart.
			h.start()
			if got := h.state("tx"); got.State != wantState || got.ProducerID != pid || got.Epoch != epoch {
				t.Fatalf("after restart: %+v", got)
			}
		})
	}
}

func TestCoordinatorRestartFinishesDecidedTransactions(t *testing.T) {
	h := newHarness(t)
	pid, epoch := h.init("tx")
	if err := h.c.AddPartitions("tx", pid, epoch, []TopicPartition{tpA}); err != nil {
		t.Fatal(err)
	}
	h.markers.setFail(errors.New("partition offline"))
	if err := h.c.EndTxn("tx", pid, epoch, true); err != nil {
		t.Fatalf("EndTxn after the decision was stored: %v", err)
	}
	if got := h.state("tx"); got.State != PrepareCommit {
		t.Fatalf("state with failing markers: %s", got.State)
	}
	if err := h.c.AddPartitions("tx", pid, epoch, []TopicPartition{tpB}); !errors.Is(err, ErrConcurrentTransactions) {
		t.Fatalf("new transaction while markers fail: %v", err)
	}
	h.markers.setFail(nil)
	h.start() // a restart completes it
	if got := h.state("tx"); got.State != CompleteCommit {
		t.Fatalf("after restart: %s", got.State)
	}
	if m, ok := h.markers.last(tpA); !ok || !m.Commit {
		t.Fatalf("commit marker not written on restart: %+v %v", m, ok)
	}
}

func TestCoordinatorTickRetriesMarkers(t *testing.T) {
	h := newHarness(t)
	pid, epoch := h.init("tx")
	if err := h.c.AddPartitions("tx", pid, epoch, []TopicPartition{tpA}); err != nil {
		t.Fatal(err)
	}
	h.markers.setFail(errors.New("partition offline"))
	if err := h.c.EndTxn("tx", pid, epoch, false); err != nil {
		t.Fatal(err)
	}
	h.markers.setFail(nil)
	h.c.Tick(h.clock.Now())
	if got := h.state("tx"); got.State != CompleteAbort {
		t.Fatalf("after tick: %s", got.State)
	}
}

func TestCoordinatorOpenTransactionSurvivesRestart(t *testing.T) {
	h := newHarness(t)
	pid, epoch := h.init("tx")
	if err := h.c.AddPartitions("tx", pid, epoch, []TopicPartition{tpA, tpB}); err != nil {
		t.Fatal(err)
	}
	h.start()
	if got := h.state("tx"); got.State != Ongoing || len(got.Partitions) != 2 {
		t.Fatalf("after restart: %+v", got)
	}
	if err := h.c.EndTxn("tx", pid, epoch, true); err != nil {
		t.Fatal(err)
	}
	if m, ok := h.markers.last(tpB); !ok || !m.Commit {
		t.Fatalf("commit marker %+v %v", m, ok)
	}
}

func TestCoordinatorTimeoutAbortsAndFences(t *testing.T) {
	h := newHarness(t)
	pid, epoch := h.init("tx")
	if err := h.c.AddPartitions("tx", pid, epoch, []TopicPartition{tpA}); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(59 * time.Second)
	h.c.Tick(h.clock.Now())
	if got := h.state("tx"); got.State != Ongoing {
		t.Fatalf("aborted before the timeout: %s", got.State)
	}
	h.clock.Advance(time.Second)
	h.c.Tick(h.clock.Now())
	got := h.state("tx")
	if got.State != CompleteAbort || got.Epoch != epoch+1 {
		t.Fatalf("after the timeout: %s epoch %d", got.State, got.Epoch)
	}
	if m, ok := h.markers.last(tpA); !ok || m.Commit || m.ProducerEpoch != epoch+1 {
		t.Fatalf("abort marker %+v %v, want an abort at epoch %d", m, ok, epoch+1)
	}
	// The old producer is fenced, whatever it tries.
	if err := h.c.EndTxn("tx", pid, epoch, true); !errors.Is(err, ErrProducerFenced) {
		t.Fatalf("commit by the timed-out producer: %v", err)
	}
	if err := h.c.AddPartitions("tx", pid, epoch, []TopicPartition{tpB}); !errors.Is(err, ErrProducerFenced) {
		t.Fatalf("add by the timed-out producer: %v", err)
	}
	if _, _, err := h.c.InitProducerID("tx", InitRequest{Timeout: time.Minute, ProducerID: pid, Epoch: epoch}); !errors.Is(err, ErrProducerFenced) {
		t.Fatalf("KIP-360 re-init by the timed-out producer: %v", err)
	}
	// A new producer instance takes over.
	if p2, e2 := h.init("tx"); p2 != pid || e2 != epoch+2 {
		t.Fatalf("new instance got %d/%d", p2, e2)
	}
}

func TestCoordinatorInitAbortsOpenTransaction(t *testing.T) {
	h := newHarness(t)
	pid, epoch := h.init("tx")
	if err := h.c.AddPartitions("tx", pid, epoch, []TopicPartition{tpA}); err != nil {
		t.Fatal(err)
	}
	p2, e2 := h.init("tx") // a new instance of the same transactional id
	if p2 != pid || e2 != epoch+2 {
		t.Fatalf("new instance got %d/%d, want %d/%d", p2, e2, pid, epoch+2)
	}
	if m, ok := h.markers.last(tpA); !ok || m.Commit || m.ProducerEpoch != epoch+1 {
		t.Fatalf("the open transaction was not aborted at the fencing epoch: %+v %v", m, ok)
	}
	if err := h.c.EndTxn("tx", pid, epoch, true); !errors.Is(err, ErrProducerFenced) {
		t.Fatalf("zombie commit: %v", err)
	}
}

func TestCoordinatorStoreFailure(t *testing.T) {
	h := newHarness(t)
	pid, epoch := h.init("tx")
	h.log.setFail(errors.New("disk full"))
	if err := h.c.AddPartitions("tx", pid, epoch, []TopicPartition{tpA}); !errors.Is(err, ErrCoordinatorNotAvailable) {
		t.Fatalf("add with a failing store: %v", err)
	}
	if got := h.state("tx"); got.State != Empty {
		t.Fatalf("state changed although the store failed: %s", got.State)
	}
	h.log.setFail(nil)
	if err := h.c.AddPartitions("tx", pid, epoch, []TopicPartition{tpA}); err != nil {
		t.Fatal(err)
	}
}

func TestCoordinatorExpiresIdleIDs(t *testing.T) {
	h := newHarness(t)
	h.init("idle")
	pid, epoch := h.init("busy")
	if err := h.c.AddPartitions("busy", pid, epoch, []TopicPartition{tpA}); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(8 * 24 * time.Hour)
	h.c.RemoveExpired(h.clock.Now())
	if _, err := h.c.Describe("idle"); !errors.Is(err, ErrTransactionalIDNotFound) {
		t.Fatalf("idle id after expiration: %v", err)
	}
	if _, err := h.c.Describe("busy"); err != nil {
		t.Fatalf("open transaction expired: %v", err)
	}
	h.start()
	if _, err := h.c.Describe("idle"); !errors.Is(err, ErrTransactionalIDNotFound) {
		t.Fatalf("expired id back after restart: %v", err)
	}
}

func TestCoordinatorRequestValidation(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		name string
		call func() error
		want error
	}{
		{"empty id", func() error { _, _, err := h.c.InitProducerID("", InitRequest{Timeout: time.Second}); return err }, ErrInvalidTransactionalID},
		{"timeout too long", func() error {
			_, _, err := h.c.InitProducerID("x", InitRequest{Timeout: time.Hour, ProducerID: -1, Epoch: -1})
			return err
		}, ErrInvalidTransactionTimeout},
		{"zero timeout", func() error {
			_, _, err := h.c.InitProducerID("x", InitRequest{Timeout: 0, ProducerID: -1, Epoch: -1})
			return err
		}, ErrInvalidTransactionTimeout},
		{"add to an unknown id", func() error { return h.c.AddPartitions("nope", 1, 0, []TopicPartition{tpA}) }, ErrInvalidProducerIDMapping},
		{"end an unknown id", func() error { return h.c.EndTxn("nope", 1, 0, true) }, ErrInvalidProducerIDMapping},
		{"end with nothing open", func() error { p, e := h.init("y"); return h.c.EndTxn("y", p, e, true) }, ErrInvalidTxnState},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	h.c.Stop()
	if _, _, err := h.c.InitProducerID("x", InitRequest{Timeout: time.Second, ProducerID: -1, Epoch: -1}); !errors.Is(err, ErrNotCoordinator) {
		t.Fatalf("after Stop: %v", err)
	}
}

func TestCoordinatorListAndDescribe(t *testing.T) {
	h := newHarness(t)
	p1, e1 := h.init("alpha")
	h.init("beta")
	if err := h.c.AddPartitions("alpha", p1, e1, []TopicPartition{tpA}); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(10 * time.Second)
	ids := func(ls []Listing) []string {
		var out []string
		for _, l := range ls {
			out = append(out, l.ID)
		}
		return out
	}
	cases := []struct {
		name string
		f    ListFilter
		want []string
	}{
		{"all", ListFilter{}, []string{"alpha", "beta"}},
		{"ongoing", ListFilter{States: []State{Ongoing}}, []string{"alpha"}},
		{"by producer", ListFilter{ProducerIDs: []int64{p1}}, []string{"alpha"}},
		{"running longer than 5s", ListFilter{MinDuration: 5 * time.Second}, []string{"alpha", "beta"}},
		{"running longer than 20s", ListFilter{MinDuration: 20 * time.Second}, []string{"beta"}},
		{"pattern", ListFilter{Pattern: regexp.MustCompile("^b")}, []string{"beta"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := h.c.List(h.clock.Now(), tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ids(got), tc.want) {
				t.Fatalf("list = %v, want %v", ids(got), tc.want)
			}
		})
	}
	d := h.state("alpha")
	if d.State != Ongoing || d.Timeout != time.Minute || d.StartTime.IsZero() || len(d.Partitions) != 1 {
		t.Fatalf("describe: %+v", d)
	}
}

func TestIDManagerReservesBlocks(t *testing.T) {
	alloc := &counter{next: 5000}
	m := NewIDManager(alloc, 1, 3)
	var got []int64
	for range 7 {
		id, err := m.Next()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, id)
	}
	if want := []int64{5000, 5001, 5002, 5003, 5004, 5005, 5006}; !reflect.DeepEqual(got, want) {
		t.Fatalf("ids %v, want %v", got, want)
	}
	if alloc.next != 5009 {
		t.Fatalf("reserved up to %d, want three blocks (5009)", alloc.next)
	}
}
