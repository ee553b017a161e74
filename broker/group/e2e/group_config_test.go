package e2e

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker"
)

// TestCoordinatorSettings checks the broker's group settings over the wire:
// group.min.session.timeout.ms and group.max.session.timeout.ms bound the
// session timeout a JoinGroup may ask for (INVALID_SESSION_TIMEOUT outside),
// and group.initial.rebalance.delay.ms holds the first join of an empty group
// for the delay before the rebalance completes.
func TestCoordinatorSettings(t *testing.T) {
	const delay = 1500 * time.Millisecond
	_, addr := startBrokerWith(t, t.TempDir(), func(cfg *broker.Config) {
		cfg.Groups.MinSessionTimeout = 2 * time.Second
		cfg.Groups.MaxSessionTimeout = 20 * time.Second
		cfg.Groups.InitialRebalanceDelay = delay
	})
	cl := newClient(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	join := func(group, member string, session time.Duration) (*kmsg.JoinGroupResponse, error) {
		req := kmsg.NewPtrJoinGroupRequest()
		req.Group, req.MemberID = group, member
		req.SessionTimeoutMillis = int32(session.Milliseconds())
		req.RebalanceTimeoutMillis = 30_000
		req.ProtocolType = "consumer"
		req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte{0, 0, 0, 0, 0, 0}}}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatalf("JoinGroup: %v", err)
		}
		return resp, kerr.ErrorForCode(resp.ErrorCode)
	}

	for _, tc := range []struct {
		session time.Duration
		want    error
	}{
		{1999 * time.Millisecond, kerr.InvalidSessionTimeout},
		{20*time.Second + time.Millisecond, kerr.InvalidSessionTimeout},
		{2 * time.Second, kerr.MemberIDRequired}, // accepted: v4+ asks for the member id first
		{20 * time.Second, kerr.MemberIDRequired},
	} {
		if _, err := join("bounds", "", tc.session); !errors.Is(err, tc.want) {
			t.Fatalf("session timeout %v: %v, want %v", tc.session, err, tc.want)
		}
	}

	first, err := join("delayed", "", 10*time.Second)
	if !errors.Is(err, kerr.MemberIDRequired) {
		t.Fatalf("first join: %v, want MEMBER_ID_REQUIRED", err)
	}
	start := time.Now()
	resp, err := join("delayed", first.MemberID, 10*time.Second)
	held := time.Since(start)
	if err != nil || resp.Generation != 1 || resp.LeaderID != first.MemberID {
		t.Fatalf("join after the delay: %v, generation %d, leader %q", err, resp.Generation, resp.LeaderID)
	}
	if held < delay || held > delay+5*time.Second {
		t.Fatalf("the first join of an empty group was answered after %v, want the initial rebalance delay %v", held, delay)
	}
	t.Logf("first join held %v (delay %v)", held.Round(time.Millisecond), delay)
}
