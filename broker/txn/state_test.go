package txn

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

var (
	t0   = time.UnixMilli(1_700_000_000_000)
	tpA  = TopicPartition{Topic: "a", Partition: 0}
	tpB  = TopicPartition{Topic: "b", Partition: 1}
	tpC  = TopicPartition{Topic: "a", Partition: 2}
	tmo  = time.Minute
	pid  = int64(100)
	pid2 = int64(200)
)

// at returns a Txn of the test's id in state s at epoch 3 with tpA in it when
// the state has partitions.
func at(s State) Txn {
	t := NewTxn("tx", pid, t0)
	t.Epoch, t.Timeout, t.State, t.StartTime = 3, tmo, s, t0
	switch s {
	case Ongoing, PrepareCommit, PrepareAbort, PrepareEpochFence:
		t.Partitions = []TopicPartition{tpA}
	}
	return t
}

func newIDs(ids ...int64) func() (int64, error) {
	return func() (int64, error) {
		if len(ids) == 0 {
			return -1, errors.New("no ids left")
		}
		id := ids[0]
		ids = ids[1:]
		return id, nil
	}
}

// TestTransitions steps the state machine through every edge of Kafka's state
// diagram, and through the requests each state refuses, without sockets.
func TestTransitions(t *testing.T) {
	now := t0.Add(time.Second)
	cases := []struct {
		name string
		from Txn
		step func(Txn) (Txn, error)
		// want is checked on success: state, epoch, partitions.
		wantState State
		wantEpoch int16
		wantParts []TopicPartition
		wantErr   error
	}{
		// InitProducerId.
		{"new id: Empty -> Empty at epoch 0", NewTxn("tx", pid, t0),
			func(x Txn) (Txn, error) {
				return x.InitProducerID(now, InitRequest{Timeout: tmo, ProducerID: -1, Epoch: -1}, newIDs())
			},
			Empty, 0, nil, nil},
		{"Empty -> Empty bumps the epoch", at(Empty),
			func(x Txn) (Txn, error) {
				return x.InitProducerID(now, InitRequest{Timeout: tmo, ProducerID: -1, Epoch: -1}, newIDs())
			},
			Empty, 4, nil, nil},
		{"CompleteCommit -> Empty", at(CompleteCommit),
			func(x Txn) (Txn, error) {
				return x.InitProducerID(now, InitRequest{Timeout: tmo, ProducerID: -1, Epoch: -1}, newIDs())
			},
			Empty, 4, nil, nil},
		{"CompleteAbort -> Empty", at(CompleteAbort),
			func(x Txn) (Txn, error) {
				return x.InitProducerID(now, InitRequest{Timeout: tmo, ProducerID: -1, Epoch: -1}, newIDs())
			},
			Empty, 4, nil, nil},
		{"Ongoing -> PrepareEpochFence on InitProducerId", at(Ongoing),
			func(x Txn) (Txn, error) {
				return x.InitProducerID(now, InitRequest{Timeout: tmo, ProducerID: -1, Epoch: -1}, newIDs())
			},
			PrepareEpochFence, 4, []TopicPartition{tpA}, nil},
		{"InitProducerId while PrepareCommit", at(PrepareCommit),
			func(x Txn) (Txn, error) {
				return x.InitProducerID(now, InitRequest{Timeout: tmo, ProducerID: -1, Epoch: -1}, newIDs())
			},
			0, 0, nil, ErrConcurrentTransactions},
		{"InitProducerId while PrepareAbort", at(PrepareAbort),
			func(x Txn) (Txn, error) {
				return x.InitProducerID(now, InitRequest{Timeout: tmo, ProducerID: -1, Epoch: -1}, newIDs())
			},
			0, 0, nil, ErrConcurrentTransactions},
		{"KIP-360 with the current epoch bumps", at(CompleteAbort),
			func(x Txn) (Txn, error) {
				return x.InitProducerID(now, InitRequest{Timeout: tmo, ProducerID: pid, Epoch: 3}, newIDs())
			},
			Empty, 4, nil, nil},
		{"KIP-360 with another producer id is fenced", at(Empty),
			func(x Txn) (Txn, error) {
				return x.InitProducerID(now, InitRequest{Timeout: tmo, ProducerID: pid2, Epoch: 3}, newIDs())
			},
			0, 0, nil, ErrProducerFenced},
		{"KIP-360 with an old epoch is fenced", at(Empty),
			func(x Txn) (Txn, error) {
				return x.InitProducerID(now, InitRequest{Timeout: tmo, ProducerID: pid, Epoch: 1}, newIDs())
			},
			0, 0, nil, ErrProducerFenced},
		{"exhausted epoch rotates the producer id", func() Txn { x := at(CompleteCommit); x.Epoch = maxEpoch; return x }(),
			func(x Txn) (Txn, error) {
				return x.InitProducerID(now, InitRequest{Timeout: tmo, ProducerID: -1, Epoch: -1}, newIDs(pid2))
			},
			Empty, 0, nil, nil},

		// AddPartitionsToTxn.
		{"Empty -> Ongoing", at(Empty),
			func(x Txn) (Txn, error) {
				n, _, err := x.AddPartitions(now, pid, 3, []TopicPartition{tpB, tpA})
				return n, err
			},
			Ongoing, 3, []TopicPartition{tpA, tpB}, nil},
		{"Ongoing -> Ongoing adds", at(Ongoing),
			func(x Txn) (Txn, error) {
				n, _, err := x.AddPartitions(now, pid, 3, []TopicPartition{tpC})
				return n, err
			},
			Ongoing, 3, []TopicPartition{tpA, tpC}, nil},
		{"CompleteCommit -> Ongoing", at(CompleteCommit),
			func(x Txn) (Txn, error) {
				n, _, err := x.AddPartitions(now, pid, 3, []TopicPartition{tpB})
				return n, err
			},
			Ongoing, 3, []TopicPartition{tpB}, nil},
		{"CompleteAbort -> Ongoing", at(CompleteAbort),
			func(x Txn) (Txn, error) {
				n, _, err := x.AddPartitions(now, pid, 3, []TopicPartition{tpB})
				return n, err
			},
			Ongoing, 3, []TopicPartition{tpB}, nil},
		{"add while PrepareCommit", at(PrepareCommit),
			func(x Txn) (Txn, error) {
				n, _, err := x.AddPartitions(now, pid, 3, []TopicPartition{tpB})
				return n, err
			},
			0, 0, nil, ErrConcurrentTransactions},
		{"add with another producer id", at(Ongoing),
			func(x Txn) (Txn, error) {
				n, _, err := x.AddPartitions(now, pid2, 3, []TopicPartition{tpB})
				return n, err
			},
			0, 0, nil, ErrInvalidProducerIDMapping},
		{"add with an old epoch", at(Ongoing),
			func(x Txn) (Txn, error) {
				n, _, err := x.AddPartitions(now, pid, 2, []TopicPartition{tpB})
				return n, err
			},
			0, 0, nil, ErrProducerFenced},

		// EndTxn.
		{"Ongoing -> PrepareCommit", at(Ongoing),
			func(x Txn) (Txn, error) { return x.EndTxn(now, pid, 3, true, true) },
			PrepareCommit, 3, []TopicPartition{tpA}, nil},
		{"Ongoing -> PrepareAbort", at(Ongoing),
			func(x Txn) (Txn, error) { return x.EndTxn(now, pid, 3, false, true) },
			PrepareAbort, 3, []TopicPartition{tpA}, nil},
		{"PrepareEpochFence -> PrepareAbort at the fenced epoch", func() Txn { x, _ := at(Ongoing).Fence(now); return x }(),
			func(x Txn) (Txn, error) { return x.EndTxn(now, pid, 4, false, false) },
			PrepareAbort, 4, []TopicPartition{tpA}, nil},
		{"client commit of a fenced transaction", func() Txn { x, _ := at(Ongoing).Fence(now); return x }(),
			func(x Txn) (Txn, error) { return x.EndTxn(now, pid, 3, true, true) },
			0, 0, nil, ErrProducerFenced},
		{"EndTxn with no transaction", at(Empty),
			func(x Txn) (Txn, error) { return x.EndTxn(now, pid, 3, true, true) },
			0, 0, nil, ErrInvalidTxnState},
		{"commit retried after it completed", at(CompleteCommit),
			func(x Txn) (Txn, error) { return x.EndTxn(now, pid, 3, true, true) },
			CompleteCommit, 3, nil, nil},
		{"abort after a commit", at(CompleteCommit),
			func(x Txn) (Txn, error) { return x.EndTxn(now, pid, 3, false, true) },
			0, 0, nil, ErrInvalidTxnState},
		{"commit after an abort", at(CompleteAbort),
			func(x Txn) (Txn, error) { return x.EndTxn(now, pid, 3, true, true) },
			0, 0, nil, ErrInvalidTxnState},
		{"commit retried while it completes", at(PrepareCommit),
			func(x Txn) (Txn, error) { return x.EndTxn(now, pid, 3, true, true) },
			0, 0, nil, ErrConcurrentTransactions},
		{"abort while a commit completes", at(PrepareCommit),
			func(x Txn) (Txn, error) { return x.EndTxn(now, pid, 3, false, true) },
			0, 0, nil, ErrInvalidTxnState},
		{"EndTxn with a newer epoch than the coordinator's", at(Ongoing),
			func(x Txn) (Txn, error) { return x.EndTxn(now, pid, 9, true, true) },
			0, 0, nil, ErrProducerFenced},

		// Markers written.
		{"PrepareCommit -> CompleteCommit", at(PrepareCommit),
			func(x Txn) (Txn, error) { return x.Complete(now) },
			CompleteCommit, 3, nil, nil},
		{"PrepareAbort -> CompleteAbort", at(PrepareAbort),
			func(x Txn) (Txn, error) { return x.Complete(now) },
			CompleteAbort, 3, nil, nil},
		{"Complete of an open transaction", at(Ongoing),
			func(x Txn) (Txn, error) { return x.Complete(now) },
			0, 0, nil, ErrInvalidTxnState},

		// Timeout fence.
		{"Ongoing -> PrepareEpochFence", at(Ongoing),
			func(x Txn) (Txn, error) { return x.Fence(now) },
			PrepareEpochFence, 4, []TopicPartition{tpA}, nil},
		{"fence with nothing open", at(Empty),
			func(x Txn) (Txn, error) { return x.Fence(now) },
			0, 0, nil, ErrInvalidTxnState},

		// Expiration.
		{"Empty -> Dead", at(Empty), expireAfter(8 * 24 * time.Hour), Dead, 3, nil, nil},
		{"CompleteCommit -> Dead", at(CompleteCommit), expireAfter(8 * 24 * time.Hour), Dead, 3, nil, nil},
		{"CompleteAbort -> Dead", at(CompleteAbort), expireAfter(8 * 24 * time.Hour), Dead, 3, nil, nil},
		{"not yet expired", at(Empty), expireAfter(6 * 24 * time.Hour), 0, 0, nil, errNotExpired},
		{"open transactions never expire", at(Ongoing), expireAfter(30 * 24 * time.Hour), 0, 0, nil, errNotExpired},
	}
	covered := map[[2]State]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			from := tc.from
			snapshot := fmt.Sprintf("%+v", from)
			next, err := tc.step(from)
			if fmt.Sprintf("%+v", from) != snapshot {
				t.Fatalf("the step changed its receiver: %s -> %+v", snapshot, from)
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if next.State != tc.wantState || next.Epoch != tc.wantEpoch || !reflect.DeepEqual(next.Partitions, tc.wantParts) {
				t.Fatalf("next = %s epoch %d partitions %v, want %s epoch %d partitions %v",
					next.State, next.Epoch, next.Partitions, tc.wantState, tc.wantEpoch, tc.wantParts)
			}
			if next.State != from.State || next.LastUpdate != from.LastUpdate {
				covered[[2]State{from.State, next.State}] = true
			}
		})
	}
	for from := Empty; from <= PrepareEpochFence; from++ {
		for to := Empty; to <= PrepareEpochFence; to++ {
			if validPrevious(from, to) && !covered[[2]State{from, to}] {
				t.Errorf("transition %s -> %s is not exercised", from, to)
			}
		}
	}
}

var errNotExpired = errors.New("not expired")

func expireAfter(d time.Duration) func(Txn) (Txn, error) {
	return func(x Txn) (Txn, error) {
		next, ok := x.Expire(t0.Add(d), 7*24*time.Hour)
		if !ok {
			return x, errNotExpired
		}
		return next, nil
	}
}

// TestStateDiagram pins Kafka's state diagram: exactly these edges are allowed.
func TestStateDiagram(t *testing.T) {
	edges := map[State][]State{
		Empty:             {Empty, Ongoing, Dead},
		Ongoing:           {Ongoing, PrepareCommit, PrepareAbort, PrepareEpochFence},
		PrepareCommit:     {CompleteCommit},
		PrepareAbort:      {CompleteAbort},
		CompleteCommit:    {Empty, Ongoing, Dead},
		CompleteAbort:     {Empty, Ongoing, Dead},
		Dead:              nil,
		PrepareEpochFence: {PrepareAbort},
	}
	for from := Empty; from <= PrepareEpochFence; from++ {
		for to := Empty; to <= PrepareEpochFence; to++ {
			want := false
			for _, s := range edges[from] {
				want = want || s == to
			}
			if got := validPrevious(from, to); got != want {
				t.Errorf("%s -> %s allowed = %v, want %v", from, to, got, want)
			}
		}
	}
}

func TestInitProducerIDRetries(t *testing.T) {
	now := t0.Add(time.Second)
	// A bump whose answer was lost: the retry with the old epoch gets the same epoch.
	x := at(CompleteCommit)
	bumped, err := x.InitProducerID(now, InitRequest{Timeout: tmo, ProducerID: pid, Epoch: 3}, newIDs())
	if err != nil || bumped.Epoch != 4 || bumped.LastEpoch != 3 {
		t.Fatalf("bump: %+v %v", bumped, err)
	}
	again, err := bumped.InitProducerID(now, InitRequest{Timeout: tmo, ProducerID: pid, Epoch: 3}, newIDs())
	if err != nil || again.Epoch != 4 || again.ProducerID != pid {
		t.Fatalf("retried bump: %+v %v", again, err)
	}
	// A rotation whose answer was lost: the old id at its exhausted epoch is accepted.
	x = at(Empty)
	x.Epoch = maxEpoch
	rotated, err := x.InitProducerID(now, InitRequest{Timeout: tmo, ProducerID: pid, Epoch: maxEpoch}, newIDs(pid2))
	if err != nil || rotated.ProducerID != pid2 || rotated.Epoch != 0 || rotated.LastProducerID != pid || rotated.LastEpoch != maxEpoch {
		t.Fatalf("rotation: %+v %v", rotated, err)
	}
	again, err = rotated.InitProducerID(now, InitRequest{Timeout: tmo, ProducerID: pid, Epoch: maxEpoch}, newIDs())
	if err != nil || again.ProducerID != pid2 || again.Epoch != 0 {
		t.Fatalf("retried rotation: %+v %v", again, err)
	}
}

func TestTimedOut(t *testing.T) {
	x := at(Ongoing)
	if x.TimedOut(t0.Add(tmo - time.Millisecond)) {
		t.Fatal("timed out early")
	}
	if !x.TimedOut(t0.Add(tmo)) {
		t.Fatal("not timed out at the timeout")
	}
	if at(Empty).TimedOut(t0.Add(time.Hour)) || at(PrepareCommit).TimedOut(t0.Add(time.Hour)) {
		t.Fatal("only open transactions time out")
	}
}

func TestPartitionFor(t *testing.T) {
	// Java: "my-txn".hashCode() = -1061187895, abs % 50 = 45; "😀" is the
	// surrogate pair D83D DE00, hashing to 1772899.
	cases := []struct {
		id   string
		want int32
	}{
		{"", 0},
		{"my-txn", 45},
		{"a", 47},
		{"😀", 1772899 % 50},
	}
	for _, tc := range cases {
		if got := PartitionFor(tc.id, 50); got != tc.want {
			t.Errorf("PartitionFor(%q) = %d, want %d", tc.id, got, tc.want)
		}
	}
}
