package plugins

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestCanceledNotCountedAsFailure: a call the caller cancelled is not a
// plugin failure for metrics; a crash or a failed call is.
func TestCanceledNotCountedAsFailure(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{context.Canceled, true},
		{fmt.Errorf("read: %w", context.Canceled), true},
		{fmt.Errorf("plugin process exited: %w", fmt.Errorf("read: %w", status.Error(codes.Canceled, "context canceled"))), true},
		{status.Error(codes.Unavailable, "connection refused"), false},
		{fmt.Errorf("plugin process exited: %w", status.Error(codes.Unavailable, "EOF")), false},
		{errors.New("missed 3 heartbeats in a row"), false},
		{context.DeadlineExceeded, false},
	} {
		if got := canceled(tc.err); got != tc.want {
			t.Errorf("canceled(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
