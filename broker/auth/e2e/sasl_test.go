package e2e

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/broker/auth"
)

// TestSASLOverTLSProduceConsume: a user created with AlterUserScramCredentials
// and granted topic and group ACLs produces and consumes over SASL_SSL with
// each mechanism.
func TestSASLOverTLSProduceConsume(t *testing.T) {
	n := startNode(t, nil)
	adm := n.admin(t)
	createUser(t, adm, "alice", "alice-pw")
	allow(t, adm, kadm.NewACLs().Allow("User:alice").Topics("orders-").ResourcePatternType(kadm.ACLPatternPrefixed).
		Operations(kadm.OpWrite, kadm.OpRead, kadm.OpCreate, kadm.OpDescribe).
		Groups("g-").Operations(kadm.OpWrite, kadm.OpRead, kadm.OpCreate, kadm.OpDescribe))

	for _, mech := range []string{auth.MechanismScramSHA256, auth.MechanismScramSHA512, auth.MechanismPlain} {
		t.Run(mech, func(t *testing.T) {
			topic, group := "orders-"+mech, "g-"+mech
			if _, err := adm.CreateTopic(testCtx(t), 2, 1, nil, topic); err != nil {
				t.Fatal(err)
			}
			const count = 200
			prod := n.saslClient(t, mech, "alice", "alice-pw", kgo.DefaultProduceTopic(topic))
			var recs []*kgo.Record
			for i := range count {
				recs = append(recs, kgo.StringRecord(strconv.Itoa(i)))
			}
			if err := prod.ProduceSync(testCtx(t), recs...).FirstErr(); err != nil {
				t.Fatalf("produce: %v", err)
			}
			cons := n.saslClient(t, mech, "alice", "alice-pw", kgo.ConsumeTopics(topic), kgo.ConsumerGroup(group),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			seen := map[string]bool{}
			ctx := testCtx(t)
			for len(seen) < count {
				fs := cons.PollFetches(ctx)
				if err := ctx.Err(); err != nil {
					t.Fatalf("consumed %d of %d: %v", len(seen), count, err)
				}
				fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
				fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
			}
			if err := cons.CommitUncommittedOffsets(testCtx(t)); err != nil {
				t.Fatalf("commit: %v", err)
			}
		})
	}
}

// TestAuthenticationRejected: wrong passwords, unknown users, an expired client
// certificate and plaintext bytes to TLS listeners are refused, with the same
// error for unknown users as for wrong passwords, and the broker keeps serving.
func TestAuthenticationRejected(t *testing.T) {
	n := startNode(t, nil)
	createUser(t, n.admin(t), "bob", "right")

	ping := func(cl *kgo.Client) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return cl.Ping(ctx)
	}
	for _, mech := range []string{auth.MechanismScramSHA256, auth.MechanismScramSHA512, auth.MechanismPlain} {
		var msgs []string
		for _, c := range []struct{ user, pass string }{{"bob", "wrong"}, {"nobody", "right"}} {
			err := ping(n.saslClient(t, mech, c.user, c.pass))
			if !errors.Is(err, kerr.SaslAuthenticationFailed) {
				t.Fatalf("%s %s/%s: got %v, want SASL_AUTHENTICATION_FAILED", mech, c.user, c.pass, err)
			}
			var ke *kerr.Error
			errors.As(err, &ke)
			msgs = append(msgs, fmt.Sprint(err))
		}
		if msgs[0] != msgs[1] {
			t.Errorf("%s: wrong password and unknown user fail differently:\n%s\n%s", mech, msgs[0], msgs[1])
		}
	}

	// Plaintext bytes to the TLS listeners, and no SASL on a SASL listener.
	for _, addr := range []string{n.addrs[lnSASLSSL], n.addrs[lnSSL]} {
		if err := ping(n.client(t, addr, nil)); err == nil {
			t.Errorf("plaintext client to TLS listener %s connected", addr)
		}
	}
	if err := ping(n.client(t, n.addrs[lnSASLPlain], nil)); err == nil {
		t.Errorf("client without SASL got answers from the SASL_PLAINTEXT listener")
	}

	// An expired client certificate fails the TLS handshake (mTLS).
	cert, key := n.pki.issue(t, "expired", "carol", time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour), false)
	if err := ping(n.client(t, n.addrs[lnSSL], n.pki.clientTLS(t, cert, key))); err == nil {
		t.Errorf("expired client certificate accepted")
	}

	// The broker still serves the right credentials and a valid certificate.
	if err := ping(n.saslClient(t, auth.MechanismScramSHA256, "bob", "right")); err != nil {
		t.Fatalf("good credentials after the failures: %v", err)
	}
	cert, key = n.pki.issue(t, "valid", "carol", time.Now().Add(-time.Hour), time.Now().Add(time.Hour), false)
	if err := ping(n.client(t, n.addrs[lnSSL], n.pki.clientTLS(t, cert, key))); err != nil {
		t.Fatalf("valid client certificate: %v", err)
	}
}
