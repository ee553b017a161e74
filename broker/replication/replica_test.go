package replication

import (
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestLeaderHighWatermarkFollowsTheISR(t *testing.T) {
	m, _ := newManager(t, t.TempDir())
	m.Reconcile(snapshot(topicSpec{name: "r", id: 1, parts: 1, replicas: []int32{self, 2},
		configs: map[string]string{"min.insync.replicas": "2"}}))
	p := mustPartition(t, m, "r", 0)
	info, err := p.Append(batch(t, 5))
	if err != nil {
		t.Fatal(err)
	}
	if hw := p.HighWatermark(); hw != 0 {
		t.Fatalf("high watermark %d before the follower fetched, want 0", hw)
	}
	if err := p.WaitReplicated(info.LastOffset, 50*time.Millisecond, nil); !errors.Is(err, ErrReplicationTimeout) {
		t.Fatalf("wait without the follower: %v, want ErrReplicationTimeout", err)
	}
	now := time.Now()
	steps := []struct {
		fetchOffset int64
		wantHW      int64
	}{
		{0, 0}, {3, 3}, {5, 5}, {2, 5}, // the high watermark never goes back
	}
	for _, s := range steps {
		if _, err := p.ReplicaFetched(2, s.fetchOffset, now); err != nil {
			t.Fatal(err)
		}
		if hw := p.HighWatermark(); hw != s.wantHW {
			t.Fatalf("after a fetch at %d: high watermark %d, want %d", s.fetchOffset, hw, s.wantHW)
		}
	}
	if err := p.WaitReplicated(info.LastOffset, time.Second, nil); err != nil {
		t.Fatalf("wait after the follower caught up: %v", err)
	}
	if _, err := p.ReplicaFetched(3, 0, now); !errors.Is(err, ErrNotReplica) {
		t.Fatalf("fetch from a non-replica: %v, want ErrNotReplica", err)
	}
	// A lagging follower leaves the ISR; min.insync.replicas then refuses acks=all.
	isr, _, ok := p.isrProposal(now.Add(time.Hour), 30*time.Second)
	if !ok || len(isr) != 1 || isr[0] != self {
		t.Fatalf("ISR proposal for a silent follower: %v %v, want [%d]", isr, ok, self)
	}
	m.Reconcile(snapshot(topicSpec{name: "r", id: 1, parts: 1, replicas: []int32{self, 2},
		configs: map[string]string{"min.insync.replicas": "3"}}))
	if err := p.CheckEnoughReplicas(); !errors.Is(err, ErrNotEnoughReplicas) {
		t.Fatalf("ISR of 2 with min.insync.replicas=3: %v, want ErrNotEnoughReplicas", err)
	}
}

func TestEpochCache(t *testing.T) {
	c := &epochCache{path: filepath.Join(t.TempDir(), epochFileName)}
	for _, e := range []epochEntry{{0, 0}, {2, 10}, {2, 12}, {5, 30}} {
		if err := c.assign(e.Epoch, e.Start); err != nil {
			t.Fatal(err)
		}
	}
	const logEnd = 40
	tests := []struct {
		epoch     int32
		wantEpoch int32
		wantEnd   int64
	}{
		{0, 0, 10},   // epoch 0 ended where epoch 2 began
		{1, 0, 10},   // unknown epoch: the largest one below it
		{2, 2, 30},   // a repeated epoch keeps its first start
		{4, 2, 30},   //
		{5, 5, 40},   // the latest epoch ends at the log end
		{9, 5, 40},   //
		{-1, -1, -1}, // older than the history
	}
	for _, tc := range tests {
		e, end := c.endOffsetFor(tc.epoch, logEnd)
		if e != tc.wantEpoch || end != tc.wantEnd {
			t.Errorf("endOffsetFor(%d) = (%d, %d), want (%d, %d)", tc.epoch, e, end, tc.wantEpoch, tc.wantEnd)
		}
	}
	// A divergent tail cut at 30 drops epoch 5; the checkpoint file follows.
	if err := c.truncate(30); err != nil {
		t.Fatal(err)
	}
	entries, err := readEpochFile(c.path)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[1] != (epochEntry{2, 10}) {
		t.Fatalf("checkpoint after truncation: %v", entries)
	}
	if got := c.latest(); got != 2 {
		t.Fatalf("latest epoch %d, want 2", got)
	}
}
