package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker"
)

// TestShutdownReleasesHeldJoin: a JoinGroup the coordinator holds (here for a
// long initial rebalance delay) does not keep the broker from shutting down; the
// client gets a retriable answer or a closed connection.
func TestShutdownReleasesHeldJoin(t *testing.T) {
	b, addr := startBrokerWith(t, t.TempDir(), func(cfg *broker.Config) {
		cfg.Groups.InitialRebalanceDelay = time.Minute
	})
	cl := newClient(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	find := kmsg.NewPtrFindCoordinatorRequest()
	find.CoordinatorKey = "held"
	if _, err := find.RequestWith(ctx, cl); err != nil {
		t.Fatal(err)
	}
	join := kmsg.NewPtrJoinGroupRequest()
	join.Group = "held"
	join.SessionTimeoutMillis = 10_000
	join.RebalanceTimeoutMillis = 120_000
	join.MemberID = "" // v4+ first answers MEMBER_ID_REQUIRED with the id to use
	join.ProtocolType = "consumer"
	join.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte{0, 0, 0, 0, 0, 0}}}
	resp, err := join.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != kerr.MemberIDRequired {
		t.Fatalf("first join: %v, want MEMBER_ID_REQUIRED", err)
	}
	join.MemberID = resp.MemberID
	done := make(chan error, 1)
	go func() {
		resp, err := join.RequestWith(ctx, cl)
		if err == nil {
			err = kerr.ErrorForCode(resp.ErrorCode)
		}
		done <- err
	}()
	adm := kadm.NewClient(newClient(t, addr))
	waitFor(t, 10*time.Second, "the join to be held", func() bool {
		d, err := adm.DescribeGroups(ctx, "held")
		return err == nil && d["held"].State == "PreparingRebalance" && len(d["held"].Members) == 1
	})
	start := time.Now()
	stopBroker(t, b)
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("shutdown took %v with a held join", took)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("held join succeeded although the broker shut down")
		}
		t.Logf("held join ended with: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("held join never ended")
	}
}
