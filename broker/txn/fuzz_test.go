package txn

import (
	"errors"
	"testing"
	"time"
)

// FuzzLoadTransactionState feeds arbitrary records to the __transaction_state
// loader: it must never panic, and anything it accepts must encode back to a
// record that decodes to the same state.
func FuzzLoadTransactionState(f *testing.F) {
	open := Txn{ID: "tx", ProducerID: 7, LastProducerID: 3, Epoch: 2, LastEpoch: -1, Timeout: time.Minute, State: Ongoing,
		Partitions: []TopicPartition{tpA, tpB}, StartTime: t0, LastUpdate: t0}
	for _, x := range []Txn{open, at(CompleteCommit), NewTxn("new", 1, t0)} {
		r := txnRecord(x)
		f.Add(r.Key, r.Value)
	}
	f.Add(txnKey("gone"), []byte(nil))
	f.Add([]byte{0, 1, 0, 2, 'x', 'y'}, []byte{0, 0})
	f.Fuzz(func(t *testing.T, key, value []byte) {
		id, x, err := decodeRecord(key, value)
		if err != nil || x == nil {
			return
		}
		if x.ID != id {
			t.Fatalf("id %q, state of %q", id, x.ID)
		}
		r := txnRecord(*x)
		id2, y, err := decodeRecord(r.Key, r.Value)
		if err != nil || id2 != id || y == nil || y.State != x.State || y.ProducerID != x.ProducerID ||
			y.Epoch != x.Epoch || len(y.Partitions) != len(x.Partitions) {
			t.Fatalf("re-encoded record decodes to %+v (%v), want %+v", y, err, x)
		}
		// The loader takes it inside a batch too.
		b, err := buildBatch(t0, []kv{{Key: key, Value: value}})
		if err != nil {
			t.Fatal(err)
		}
		l := newLoader()
		if err := l.batch(b); err != nil {
			t.Fatal(err)
		}
		if _, ok := l.txns[id]; !ok {
			t.Fatalf("loader dropped %q", id)
		}
	})
}

// FuzzLoadTransactionBatch feeds arbitrary bytes as a stored batch: an error or
// skipped records, never a panic.
func FuzzLoadTransactionBatch(f *testing.F) {
	b, _ := buildBatch(t0, []kv{txnRecord(at(Ongoing)), {Key: txnKey("gone")}})
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		l := newLoader()
		_ = l.batch(b)
		for id, x := range l.txns {
			if id == "" || x.ProducerID < 0 || x.State == Dead {
				t.Fatalf("loaded an impossible state %q: %+v", id, x)
			}
		}
	})
}

// FuzzProducerSnapshot decodes arbitrary bytes as a producer snapshot: an error
// (ErrBadSnapshot) or a state that encodes back to the same bytes.
func FuzzProducerSnapshot(f *testing.F) {
	f.Add(encodeSnapshot(snapshotState{offset: 10, producers: map[int64]*Producer{
		1: {ID: 1, Epoch: 0, CoordinatorEpoch: -1, TxnFirstOffset: 4, Batches: []BatchMeta{{FirstSeq: 0, LastSeq: 1, FirstOffset: 4, LastOffset: 5}}},
	}, aborted: []AbortedTxn{{ProducerID: 2, FirstOffset: 1, LastOffset: 3}}}))
	f.Add(encodeSnapshot(snapshotState{offset: 0, producers: map[int64]*Producer{}}))
	f.Add([]byte{0, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := decodeSnapshot(b)
		if err != nil {
			if !errors.Is(err, ErrBadSnapshot) {
				t.Fatalf("error without ErrBadSnapshot: %v", err)
			}
			return
		}
		if again := encodeSnapshot(st); string(again) != string(b) {
			t.Fatalf("accepted bytes do not round-trip")
		}
	})
}
