package cluster

import (
	"errors"
	"testing"
)

func TestAllocateProducerIDsNeverRepeatAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir, WithCompactBytes(200)) // compact often: the snapshot must carry the counter
	var firsts []int64
	for range 5 {
		first, err := l.AllocateProducerIDs(1, 1000)
		if err != nil {
			t.Fatal(err)
		}
		firsts = append(firsts, first)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openTest(t, dir)
	first, err := l.AllocateProducerIDs(1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	firsts = append(firsts, first)
	for i, f := range firsts {
		if want := int64(i) * 1000; f != want {
			t.Fatalf("block %d starts at %d, want %d (all: %v)", i, f, want, firsts)
		}
	}
	if got := l.Snapshot().NextProducerID; got != 6000 {
		t.Fatalf("next producer id %d, want 6000", got)
	}
}

func TestAllocateProducerIDsRefusesBadBlocks(t *testing.T) {
	cases := []struct {
		name string
		cmd  ProducerIDAllocation
	}{
		{"stale first id", ProducerIDAllocation{BrokerID: 1, First: 0, Count: 10}},
		{"gap", ProducerIDAllocation{BrokerID: 1, First: 500, Count: 10}},
		{"empty", ProducerIDAllocation{BrokerID: 1, First: 100, Count: 0}},
		{"negative", ProducerIDAllocation{BrokerID: 1, First: 100, Count: -5}},
		{"huge", ProducerIDAllocation{BrokerID: 1, First: 100, Count: maxProducerIDBlock + 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMetadata("c", 1)
			if err := m.Apply(Command{AllocateProducerIDs: &ProducerIDAllocation{First: 0, Count: 100}}); err != nil {
				t.Fatal(err)
			}
			cmd := tc.cmd
			err := m.Apply(Command{AllocateProducerIDs: &cmd})
			if !errors.Is(err, ErrInvalidCommand) {
				t.Fatalf("err = %v, want ErrInvalidCommand", err)
			}
			if got := m.Snapshot().NextProducerID; got != 100 {
				t.Fatalf("next producer id moved to %d", got)
			}
		})
	}
}

func TestSnapshotKeepsNextProducerID(t *testing.T) {
	m := NewMetadata("c", 1)
	if err := m.Apply(Command{AllocateProducerIDs: &ProducerIDAllocation{First: 0, Count: 42}}); err != nil {
		t.Fatal(err)
	}
	b, err := MarshalSnapshot(m.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	s, err := UnmarshalSnapshot(b)
	if err != nil {
		t.Fatal(err)
	}
	if s.NextProducerID != 42 {
		t.Fatalf("restored next producer id %d, want 42", s.NextProducerID)
	}
}
