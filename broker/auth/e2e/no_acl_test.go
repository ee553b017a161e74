package e2e

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/broker"
	"github.com/tributary-io/tributary/broker/auth"
	"github.com/tributary-io/tributary/platform/nodetest"
)

// syncBuffer is a log sink tests search; nodetest.Output is safe for
// concurrent writers.
type syncBuffer = nodetest.Output

// TestNoACLFound: with the authorizer on, a resource no ACL mentions is
// denied by default (allow.everyone.if.no.acl.found=false), and the denial
// is logged with the principal, operation and resource; with the setting
// on, such a resource is open to every authenticated principal while one
// an ACL mentions stays closed to the others.
func TestNoACLFound(t *testing.T) {
	for _, everyone := range []bool{false, true} {
		name := "default deny"
		if everyone {
			name = "allow everyone"
		}
		t.Run(name, func(t *testing.T) {
			logs := &syncBuffer{}
			n := startNode(t, func(c *broker.Config) {
				c.Security.AllowEveryoneIfNoACL = everyone
				c.Logger = slog.New(slog.NewTextHandler(logs, nil))
			})
			adm := n.admin(t)
			createUser(t, adm, "carol", "carol-pw")
			for _, topic := range []string{"free", "guarded"} {
				if _, err := adm.CreateTopic(testCtx(t), 1, 1, nil, topic); err != nil {
					t.Fatal(err)
				}
			}
			// guarded: dave may write; carol may only see it, so her client
			// gets past Metadata and is refused at Produce.
			allow(t, adm, kadm.NewACLs().Allow("User:dave").Topics("guarded").Operations(kadm.OpWrite))
			allow(t, adm, kadm.NewACLs().Allow("User:carol").Topics("guarded").Operations(kadm.OpDescribe))
			// Not idempotent: that needs IDEMPOTENT_WRITE on the cluster,
			// a resource of its own this test is not about.
			carol := n.saslClient(t, auth.MechanismScramSHA256, "carol", "carol-pw", kgo.DisableIdempotentWrite())
			produce := func(topic string) error {
				return carol.ProduceSync(testCtx(t), &kgo.Record{Topic: topic, Value: []byte("v")}).FirstErr()
			}

			err := produce("free")
			switch {
			case everyone && err != nil:
				t.Errorf("produce to a topic no ACL mentions, allow.everyone.if.no.acl.found on: %v", err)
			case !everyone && !errors.Is(err, kerr.TopicAuthorizationFailed):
				t.Errorf("produce to a topic no ACL mentions, default: %v, want TOPIC_AUTHORIZATION_FAILED", err)
			}
			if err := produce("guarded"); !errors.Is(err, kerr.TopicAuthorizationFailed) {
				t.Errorf("produce to a topic an ACL grants to someone else: %v, want TOPIC_AUTHORIZATION_FAILED", err)
			}

			// One line per denial: who, what, on which resource, by which API.
			want := []string{"principal=User:carol operation=WRITE resource=TOPIC:guarded api=Produce"}
			if !everyone { // refused already when the client asked for its metadata
				want = append(want, "principal=User:carol operation=DESCRIBE resource=TOPIC:free api=Metadata")
			}
			out := denials(logs.String())
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("the broker log has no denial %q:\n%s", w, out)
				}
			}
			if everyone && strings.Contains(out, "resource=TOPIC:free") {
				t.Errorf("a permitted produce was logged as denied:\n%s", out)
			}
		})
	}
}

// denials keeps the authorization lines of a log.
func denials(log string) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "authorization denied") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
