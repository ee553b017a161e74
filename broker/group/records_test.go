package group

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/record"
)

// TestRecordFormats checks that keys and values are Kafka's: kmsg decodes what we
// write, with the versions Kafka uses.
func TestRecordFormats(t *testing.T) {
	tp := TopicPartition{"topic", 3}
	tests := []struct {
		name  string
		rec   kv
		check func(t *testing.T, e entry)
	}{
		{"offset commit v3", offsetRecord("g", tp, Offset{Offset: 10, LeaderEpoch: 4, Metadata: "m", CommitTimestamp: 99}), func(t *testing.T, e entry) {
			if !e.isOffset || e.group != "g" || e.tp != tp || *e.offset != (Offset{10, 4, "m", 99, 0}) {
				t.Fatalf("entry %+v %+v", e, e.offset)
			}
		}},
		{"offset commit with expiry is v1", offsetRecord("g", tp, Offset{Offset: 10, LeaderEpoch: 4, CommitTimestamp: 99, ExpireTimestamp: 500}), func(t *testing.T, e entry) {
			if e.offset.ExpireTimestamp != 500 || e.offset.LeaderEpoch != -1 {
				t.Fatalf("offset %+v", e.offset)
			}
		}},
		{"offset tombstone", offsetTombstone("g", tp), func(t *testing.T, e entry) {
			if !e.isOffset || e.offset != nil {
				t.Fatalf("entry %+v", e)
			}
		}},
		{"group tombstone", groupTombstone("g"), func(t *testing.T, e entry) {
			if e.isOffset || e.meta != nil || e.group != "g" {
				t.Fatalf("entry %+v", e)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := decodeRecord(tc.rec.Key, tc.rec.Value)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, e)
		})
	}
	if v := binary.BigEndian.Uint16(offsetKey("g", tp)); v != 1 {
		t.Fatalf("offset key version %d, want 1", v)
	}
	if v := binary.BigEndian.Uint16(groupKey("g")); v != 2 {
		t.Fatalf("group key version %d, want 2", v)
	}
	if _, err := decodeRecord([]byte{0, 5, 0, 0}, nil); err != errSkip {
		t.Fatalf("KIP-848 record: %v, want skip", err)
	}
}

func TestGroupRecordRoundTrip(t *testing.T) {
	h := newHarness(t, 0)
	ids := h.stableStatic(2)
	rec := groupRecord(h.g)
	var v kmsg.GroupMetadataValue
	if err := v.ReadFrom(rec.Value); err != nil || v.Version != 3 || len(v.Members) != 2 || *v.Members[1].InstanceID != "i1" {
		t.Fatalf("value %+v: %v", v, err)
	}
	e, err := decodeRecord(rec.Key, rec.Value)
	if err != nil {
		t.Fatal(err)
	}
	g := restoreGroup("g", e.meta, &h.set, h.now)
	want, got := h.g.Describe(), g.Describe()
	if got.State != Stable || got.Protocol != want.Protocol || g.Leader() != ids[0] || g.Generation() != 1 || len(got.Members) != 2 {
		t.Fatalf("restored %+v", got)
	}
	for i := range want.Members {
		if string(got.Members[i].Assignment) != string(want.Members[i].Assignment) || got.Members[i].InstanceID != want.Members[i].InstanceID {
			t.Fatalf("member %d: %+v, want %+v", i, got.Members[i], want.Members[i])
		}
	}
	// A restored static member restarting is recognized.
	w := Waiter(1000)
	eff := g.Join(h.now, w, static(jreq("", "c"), "i1"))
	if len(eff.Replies) != 1 || eff.Replies[0].Join.Err != nil || g.State() != Stable {
		t.Fatalf("static restart after restore: %+v", eff.Replies)
	}
}

// batchOf builds a batch for the loader tests.
func batchOf(t testing.TB, attrs int16, pid int64, recs ...kv) []byte {
	t.Helper()
	rs := make([]record.Record, len(recs))
	for i, r := range recs {
		rs[i] = record.Record{OffsetDelta: int32(i), Key: r.Key, Value: r.Value}
	}
	b, err := record.Build(record.BatchSpec{Attributes: attrs, ProducerID: pid, ProducerEpoch: 0, BaseSequence: -1}, rs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func controlRecord(commit bool) kv {
	k := []byte{0, 0, 0, 0}
	if commit {
		k[3] = 1
	}
	return kv{Key: k, Value: []byte{0, 0, 0, 0, 0, 0}}
}

func TestLoaderTransactionalOffsets(t *testing.T) {
	tp := TopicPartition{"t", 0}
	l := newLoader()
	batches := [][]byte{
		batchOf(t, 0, -1, offsetRecord("g", tp, Offset{Offset: 1})),
		batchOf(t, record.AttrTransactional, 7, offsetRecord("g", tp, Offset{Offset: 2})),
		batchOf(t, record.AttrTransactional, 8, offsetRecord("h", tp, Offset{Offset: 3})),
		batchOf(t, record.AttrTransactional|record.AttrControl, 8, controlRecord(false)),
		batchOf(t, record.AttrTransactional|record.AttrControl, 7, controlRecord(true)),
	}
	for _, b := range batches {
		if err := l.batch(b); err != nil {
			t.Fatal(err)
		}
	}
	gs := l.groups(&Settings{}, time.Now())
	if o, _ := gs["g"].Offset(tp); o.Offset != 2 {
		t.Fatalf("committed transactional offset %d, want 2", o.Offset)
	}
	if _, ok := gs["h"]; ok {
		t.Fatal("aborted transactional offset was loaded")
	}
}

// FuzzLoad feeds arbitrary bytes to the loader, both as a whole batch and as the
// key and value of one record: it must fail cleanly, never panic.
func FuzzLoad(f *testing.F) {
	tp := TopicPartition{"t", 1}
	h := newHarness(&testing.T{}, 0)
	h.stable(2)
	seeds := []kv{
		offsetRecord("g", tp, Offset{Offset: 5, Metadata: "x"}),
		offsetTombstone("g", tp),
		groupRecord(h.g),
		groupTombstone("g"),
	}
	for _, s := range seeds {
		f.Add(batchOf(f, 0, -1, s), s.Key, s.Value)
	}
	f.Fuzz(func(t *testing.T, batch, key, value []byte) {
		l := newLoader()
		_ = l.batch(batch)
		_ = l.batch(batchOf(t, 0, -1, kv{Key: key, Value: value}))
		for id, g := range l.groups(&Settings{}, time.Unix(0, 0)) {
			if g.ID() != id {
				t.Fatalf("group %q loaded under %q", g.ID(), id)
			}
			g.Describe()
			g.Tick(time.Unix(0, 0))
		}
	})
}
