package broker

import (
	"testing"

	"github.com/tributary-io/tributary/broker/cluster"
)

// A __consumer_offsets partition led in the first view after start is
// replayed again unless the node already led it, at the same epoch, when the
// group coordinator loaded it.
func TestReloadOnFirstView(t *testing.T) {
	loadedAt := map[int32]int32{0: 4, 1: 7}
	for _, tc := range []struct {
		name string
		p    cluster.Partition
		want bool
	}{
		{"led at load, same epoch", cluster.Partition{ID: 0, Leader: 1, LeaderEpoch: 4}, false},
		{"led at load, epoch moved on since", cluster.Partition{ID: 1, Leader: 1, LeaderEpoch: 9}, true},
		{"led only since the load", cluster.Partition{ID: 2, Leader: 1, LeaderEpoch: 3}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := reloadOnFirstView(loadedAt, tc.p); got != tc.want {
				t.Fatalf("reloadOnFirstView(%v, %+v) = %v, want %v", loadedAt, tc.p, got, tc.want)
			}
		})
	}
}
