package group

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tributary-io/tributary/broker/record"
)

// markerBatch builds a transaction marker as the transaction coordinator does.
func markerBatch(t *testing.T, pid int64, commit bool) []byte {
	t.Helper()
	typ := byte(0)
	if commit {
		typ = 1
	}
	b, err := record.Build(record.BatchSpec{
		Attributes:    record.AttrControl | record.AttrTransactional,
		BaseTimestamp: 1_700_000_000_000,
		ProducerID:    pid,
		ProducerEpoch: 0,
		BaseSequence:  -1,
	}, []record.Record{{Key: []byte{0, 0, 0, typ}, Value: []byte{0, 0, 0, 0, 0, 0}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTxnOffsetsApplyOnCommitOnly(t *testing.T) {
	for _, commit := range []bool{true, false} {
		clk := newFakeClock()
		log := NewMemLog()
		c := newTestCoordinator(t, log, clk, nil)
		tp := TopicPartition{"t", 0}
		if errs := c.CommitOffsets("g", CommitRequest{Generation: -1, Offsets: []OffsetCommit{{tp, 5, -1, ""}}}); errs[0] != nil {
			t.Fatal(errs[0])
		}
		errs := c.TxnCommitOffsets("g", TxnCommitRequest{ProducerID: 9, ProducerEpoch: 0, Generation: -1,
			Offsets: []OffsetCommit{{tp, 50, -1, "txn"}}})
		if errs[0] != nil {
			t.Fatal(errs[0])
		}
		got, _ := c.FetchOffsets("g", []TopicPartition{tp})
		if got[0].Offset != 5 || !got[0].Pending {
			t.Fatalf("before the marker: %+v, want the old offset, pending", got[0])
		}
		if err := c.CompleteTxn(c.Partition("g"), 9, commit, markerBatch(t, 9, commit)); err != nil {
			t.Fatal(err)
		}
		want := int64(5)
		if commit {
			want = 50
		}
		got, _ = c.FetchOffsets("g", []TopicPartition{tp})
		if got[0].Offset != want || got[0].Pending {
			t.Fatalf("commit=%v: after the marker %+v, want %d, not pending", commit, got[0], want)
		}
		// A restart replays the same outcome from __consumer_offsets.
		c.Stop()
		c = newTestCoordinator(t, log, clk, nil)
		if got, _ := c.FetchOffsets("g", []TopicPartition{tp}); got[0].Offset != want {
			t.Fatalf("commit=%v: after restart %+v, want %d", commit, got[0], want)
		}
	}
}

// TestTxnOffsetsPendingAcrossRestart: a restart between TxnOffsetCommit and the
// marker keeps the offsets pending; the marker written after the restart (the
// transaction coordinator finishing the transaction) applies them.
func TestTxnOffsetsPendingAcrossRestart(t *testing.T) {
	clk := newFakeClock()
	log := NewMemLog()
	c := newTestCoordinator(t, log, clk, nil)
	tp := TopicPartition{"t", 3}
	if errs := c.TxnCommitOffsets("g", TxnCommitRequest{ProducerID: 4, Generation: -1, Offsets: []OffsetCommit{{tp, 77, -1, ""}}}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	c.Stop()
	c = newTestCoordinator(t, log, clk, nil)
	if got, _ := c.FetchOffsets("g", []TopicPartition{tp}); got[0].Offset != -1 || !got[0].Pending {
		t.Fatalf("after restart: %+v, want pending", got[0])
	}
	if err := c.CompleteTxn(c.Partition("g"), 4, true, markerBatch(t, 4, true)); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.FetchOffsets("g", []TopicPartition{tp}); got[0].Offset != 77 {
		t.Fatalf("after the marker: %+v", got[0])
	}
}

func TestTxnOffsetCommitGenerationChecks(t *testing.T) {
	clk := newFakeClock()
	c := newTestCoordinator(t, NewMemLog(), clk, nil)
	r := joinStable(t, c, "g", "c")
	// A static member (KIP-345) in its own group: KIP-447 fences an old
	// incarnation of its instance by the instance id.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sj := c.JoinGroup(ctx, "s", static(jreq("", "c"), "inst"))
	if sj.Err != nil {
		t.Fatal(sj.Err)
	}
	if res := c.SyncGroup(ctx, "s", SyncRequest{MemberID: sj.MemberID, InstanceID: "inst", Generation: sj.Generation,
		Assignments: map[string][]byte{sj.MemberID: []byte("a")}}); res.Err != nil {
		t.Fatal(res.Err)
	}
	tp := TopicPartition{"t", 0}
	cases := []struct {
		name  string
		group string
		req   TxnCommitRequest
		want  error
	}{
		{"current member and generation", "g", TxnCommitRequest{MemberID: r.MemberID, Generation: r.Generation}, nil},
		{"no member, no generation", "g", TxnCommitRequest{Generation: -1}, nil},
		{"old generation", "g", TxnCommitRequest{MemberID: r.MemberID, Generation: r.Generation - 1}, ErrIllegalGeneration},
		{"unknown member", "g", TxnCommitRequest{MemberID: "zombie", Generation: r.Generation}, ErrUnknownMemberID},
		{"current static member", "s", TxnCommitRequest{MemberID: sj.MemberID, InstanceID: "inst", Generation: sj.Generation}, nil},
		{"old incarnation of a static member", "s", TxnCommitRequest{MemberID: "inst-old", InstanceID: "inst", Generation: sj.Generation}, ErrFencedInstanceID},
		{"static member at an old generation", "s", TxnCommitRequest{MemberID: sj.MemberID, InstanceID: "inst", Generation: sj.Generation - 1}, ErrIllegalGeneration},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.ProducerID = 1
			tc.req.Offsets = []OffsetCommit{{tp, 1, -1, ""}}
			if errs := c.TxnCommitOffsets(tc.group, tc.req); !errors.Is(errs[0], tc.want) {
				t.Fatalf("err = %v, want %v", errs[0], tc.want)
			}
		})
	}
}

func TestTxnOffsetCommitStoreFailure(t *testing.T) {
	clk := newFakeClock()
	log := NewMemLog()
	c := newTestCoordinator(t, log, clk, nil)
	fenced := errors.New("producer fenced")
	log.SetFail(fenced)
	errs := c.TxnCommitOffsets("g", TxnCommitRequest{ProducerID: 1, Generation: -1, Offsets: []OffsetCommit{{TopicPartition{"t", 0}, 1, -1, ""}}})
	if !errors.Is(errs[0], ErrCoordinatorNotAvailable) || !errors.Is(errs[0], fenced) {
		t.Fatalf("err = %v, want both the store error and COORDINATOR_NOT_AVAILABLE", errs[0])
	}
	log.SetFail(nil)
	if got, _ := c.FetchOffsets("g", []TopicPartition{{"t", 0}}); got[0].Pending {
		t.Fatal("a failed transactional commit is pending")
	}
}
