package broker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/tributary-io/tributary/broker/cluster"
	"github.com/tributary-io/tributary/broker/group"
	"github.com/tributary-io/tributary/broker/txn"
)

// untilController retries only while no controller is known (a restarted
// node whose raft leader has not contacted it yet), and stops at ctx's end.
func TestUntilController(t *testing.T) {
	notYet := fmt.Errorf("%w: no raft leader", cluster.ErrNotController)
	other := errors.New("disk on fire")
	for _, tc := range []struct {
		name    string
		results []error // fn's answers in turn; the last repeats
		timeout time.Duration
		calls   int
		wantErr error
	}{
		{"at once", []error{nil}, time.Minute, 1, nil},
		{"after no controller twice", []error{notYet, notYet, nil}, time.Minute, 3, nil},
		{"after a view behind the controller's", []error{fmt.Errorf("%w: version 3 here, 9 there", cluster.ErrNotCaughtUp), nil}, time.Minute, 2, nil},
		{"other error not retried", []error{notYet, other}, time.Minute, 2, other},
		{"no controller until the deadline", []error{notYet}, 300 * time.Millisecond, 0, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), tc.timeout)
			defer cancel()
			calls := 0
			err := untilController(ctx, "step", func() error {
				r := tc.results[min(calls, len(tc.results)-1)]
				calls++
				return r
			})
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if tc.calls > 0 && calls != tc.calls {
				t.Fatalf("%d calls, want %d", calls, tc.calls)
			}
		})
	}
}

// coordView.move: on the first view after start, a partition led here is
// replayed again only if its own coordinator (by topic) did not load it as
// leader at that epoch; later views load what starts to be led here, or is
// led at a new epoch, and unload what another node leads now.
func TestCoordViewMove(t *testing.T) {
	const self = 1
	offsets, state := group.OffsetsTopic, txn.StateTopic
	// The group coordinator loaded partition 0 at epoch 4; the transaction
	// coordinator loaded partition 0 at epoch 2 and partition 1 at epoch 7.
	loadedAt := map[string]map[int32]int32{offsets: {0: 4}, state: {0: 2, 1: 7}}
	type want struct{ load, ok bool }
	var (
		nothing = want{false, false}
		load    = want{true, true}
		unload  = want{false, true}
	)
	for _, tc := range []struct {
		name  string
		first bool
		led   map[coordKey]int32 // loaded since start, by epoch
		topic string
		p     cluster.Partition
		want  want
	}{
		{"first view: txn partition led at load, same epoch", true, nil, state, cluster.Partition{ID: 1, Leader: self, LeaderEpoch: 7}, nothing},
		{"first view: txn partition led at load, epoch moved on since", true, nil, state, cluster.Partition{ID: 0, Leader: self, LeaderEpoch: 3}, load},
		{"first view: txn partition led only since the load", true, nil, state, cluster.Partition{ID: 2, Leader: self, LeaderEpoch: 1}, load},
		{"first view: the groups' load does not count for txns", true, nil, state, cluster.Partition{ID: 0, Leader: self, LeaderEpoch: 4}, load},
		{"first view: group partition led at load, same epoch", true, nil, offsets, cluster.Partition{ID: 0, Leader: self, LeaderEpoch: 4}, nothing},
		{"first view: group partition led only since the load", true, nil, offsets, cluster.Partition{ID: 3, Leader: self, LeaderEpoch: 2}, load},
		{"first view: led elsewhere", true, nil, state, cluster.Partition{ID: 1, Leader: 2, LeaderEpoch: 8}, unload},
		{"later: starts to be led here", false, nil, state, cluster.Partition{ID: 4, Leader: self, LeaderEpoch: 5}, load},
		{"later: still led at the loaded epoch", false, map[coordKey]int32{{state, 4}: 5}, state, cluster.Partition{ID: 4, Leader: self, LeaderEpoch: 5}, nothing},
		{"later: led here at a new epoch", false, map[coordKey]int32{{state, 4}: 5}, state, cluster.Partition{ID: 4, Leader: self, LeaderEpoch: 6}, load},
		{"later: moved away", false, map[coordKey]int32{{state, 4}: 5}, state, cluster.Partition{ID: 4, Leader: 3, LeaderEpoch: 6}, unload},
		{"later: never led here", false, nil, state, cluster.Partition{ID: 4, Leader: 3, LeaderEpoch: 6}, nothing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := &coordView{self: self, loadedAt: loadedAt, led: map[coordKey]int32{}, first: tc.first}
			maps.Copy(v.led, tc.led)
			loadIt, ok := v.move(tc.topic, tc.p)
			if got := (want{loadIt, ok}); got != tc.want {
				t.Fatalf("move(%s, %+v) = %+v, want %+v", tc.topic, tc.p, got, tc.want)
			}
			k := coordKey{tc.topic, tc.p.ID}
			if epoch, led := v.led[k]; led != (tc.p.Leader == self) || (led && epoch != tc.p.LeaderEpoch) {
				t.Fatalf("after the view: led %v at epoch %d, want led %v at %d", led, epoch, tc.p.Leader == self, tc.p.LeaderEpoch)
			}
		})
	}
}
