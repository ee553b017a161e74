package broker

import (
	"testing"

	"github.com/tributary-io/tributary/broker/cluster"
)

func TestISRChanges(t *testing.T) {
	snap := func(id byte, leader int32, isrs ...[]int32) *cluster.Snapshot {
		top := &cluster.Topic{Name: "t", ID: cluster.UUID{id}}
		for i, isr := range isrs {
			top.Partitions = append(top.Partitions, cluster.Partition{ID: int32(i), Leader: leader, ISR: isr})
		}
		return &cluster.Snapshot{Topics: map[string]*cluster.Topic{"t": top}}
	}
	for _, tc := range []struct {
		name             string
		prev, next       *cluster.Snapshot
		shrinks, expands int
	}{
		{"first view", nil, snap(1, 1, []int32{1, 2, 3}), 0, 0},
		{"unchanged", snap(1, 1, []int32{1, 2, 3}), snap(1, 1, []int32{1, 2, 3}), 0, 0},
		{"one shrink", snap(1, 1, []int32{1, 2, 3}, []int32{1, 2}), snap(1, 1, []int32{1, 3}, []int32{1, 2}), 1, 0},
		{"two partitions shrink", snap(1, 1, []int32{1, 2, 3}, []int32{1, 2}), snap(1, 1, []int32{1}, []int32{1}), 2, 0},
		{"expand", snap(1, 1, []int32{1}), snap(1, 1, []int32{1, 3}), 0, 1},
		{"swap counts both", snap(1, 1, []int32{1, 2}), snap(1, 1, []int32{1, 3}), 1, 1},
		{"led elsewhere", snap(1, 2, []int32{1, 2, 3}), snap(1, 2, []int32{2}), 0, 0},
		{"recreated topic", snap(1, 1, []int32{1, 2, 3}), snap(2, 1, []int32{1}), 0, 0},
	} {
		s, e := isrChanges(tc.prev, tc.next, 1)
		if s != tc.shrinks || e != tc.expands {
			t.Errorf("%s: %d shrinks, %d expands; want %d, %d", tc.name, s, e, tc.shrinks, tc.expands)
		}
	}
}
