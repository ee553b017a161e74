package e2e

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/broker"
	"github.com/tributary-io/tributary/broker/auth"
)

// TestReauthentication: with connections.max.reauth.ms set, SaslAuthenticate
// reports the session lifetime and franz-go re-authenticates on the same
// connection before it ends, so a client keeps producing across several
// lifetimes.
func TestReauthentication(t *testing.T) {
	const lifetime = 1500 * time.Millisecond
	n := startNode(t, func(c *broker.Config) { c.Security.ReauthMax = lifetime })
	adm := n.admin(t)
	if _, err := adm.CreateTopic(testCtx(t), 1, 1, nil, "reauth"); err != nil {
		t.Fatal(err)
	}
	hooks := &connHooks{}
	cl := n.saslClient(t, auth.MechanismScramSHA256, adminUser, adminPass, kgo.DefaultProduceTopic("reauth"),
		kgo.WithHooks(hooks))
	deadline := time.Now().Add(4 * lifetime)
	produced := 0
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := cl.ProduceSync(ctx, kgo.StringRecord("x")).FirstErr()
		cancel()
		if err != nil {
			t.Fatalf("produce %d across re-authentications: %v", produced, err)
		}
		produced++
		// Pace the loop so it spans several session lifetimes with few records.
		ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
		<-ctx.Done()
		cancel()
	}

	// Without re-authentication the broker would close the connection at
	// every lifetime and the client would reconnect each time.
	if d := hooks.disconnects.Load(); d > 1 {
		t.Errorf("%d disconnects over %v with a %v session lifetime", d, 4*lifetime, lifetime)
	}
	if produced < 10 {
		t.Fatalf("only %d records in %v", produced, 4*lifetime)
	}
	// The client did re-authenticate: SaslAuthenticate was sent again within
	// each lifetime (the first on connecting, then about one per lifetime).
	if n := hooks.authenticates.Load(); n < 3 {
		t.Errorf("%d SaslAuthenticate requests over %v with a %v session lifetime, want at least 3", n, 4*lifetime, lifetime)
	}
}

// connHooks counts the client's broker disconnects and the SaslAuthenticate
// requests it writes.
type connHooks struct{ disconnects, authenticates atomic.Int64 }

func (h *connHooks) OnBrokerDisconnect(kgo.BrokerMetadata, net.Conn) { h.disconnects.Add(1) }

func (h *connHooks) OnBrokerWrite(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if key == 36 && err == nil { // SaslAuthenticate
		h.authenticates.Add(1)
	}
}
