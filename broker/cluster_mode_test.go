package broker

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tributary-io/tributary/broker/cluster"
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
