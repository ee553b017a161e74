package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// needKcat finds kcat; under CI=true its absence fails the test.
func needKcat(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kcat")
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("kcat is required under CI=true: %v", err)
	}
	t.Skipf("kcat not installed: %v", err)
	return ""
}

// runKcat runs kcat with a deadline and returns stdout, failing on a non-zero exit.
func runKcat(t *testing.T, kcat string, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kcat, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("kcat %v: %v\n%s", args, err, errb.String())
	}
	return out.String()
}

// TestKcatSASLSSLScram: librdkafka (kcat) connects over SASL_SSL with
// SCRAM-SHA-256 and SCRAM-SHA-512, produces and reads back; a wrong password
// fails.
func TestKcatSASLSSLScram(t *testing.T) {
	kcat := needKcat(t)
	n := startNode(t, nil)
	adm := n.admin(t)
	createUser(t, adm, "kc", "kc-secret")
	allow(t, adm, kadm.NewACLs().Allow("User:kc").Topics("kcat-").ResourcePatternType(kadm.ACLPatternPrefixed).
		Operations(kadm.OpRead, kadm.OpWrite, kadm.OpDescribe, kadm.OpCreate))
	for _, mech := range []string{"SCRAM-SHA-256", "SCRAM-SHA-512"} {
		t.Run(mech, func(t *testing.T) {
			topic := "kcat-" + strings.ToLower(mech)
			if _, err := adm.CreateTopic(testCtx(t), 1, 1, nil, topic); err != nil {
				t.Fatal(err)
			}
			common := func(pass string) []string {
				return []string{"-b", n.addrs[lnSASLSSL], "-X", "security.protocol=SASL_SSL", "-X", "sasl.mechanisms=" + mech,
					"-X", "sasl.username=kc", "-X", "sasl.password=" + pass, "-X", "ssl.ca.location=" + n.pki.caFile}
			}
			var lines []string
			for i := range 500 {
				lines = append(lines, fmt.Sprintf("line-%d", i))
			}
			runKcat(t, kcat, strings.Join(lines, "\n")+"\n", append(common("kc-secret"), "-P", "-t", topic)...)
			out := runKcat(t, kcat, "", append(common("kc-secret"), "-C", "-t", topic, "-e", "-o", "beginning", "-q")...)
			got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(got) != len(lines) || got[0] != lines[0] || got[len(got)-1] != lines[len(lines)-1] {
				t.Fatalf("read %d lines (first %q), want %d", len(got), got[0], len(lines))
			}

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, kcat, append(common("wrong"), "-L", "-m", "5")...)
			var errb bytes.Buffer
			cmd.Stderr = &errb
			if err := cmd.Run(); err == nil {
				t.Fatalf("kcat with a wrong password listed metadata")
			}
			if !strings.Contains(errb.String(), "uthentication") {
				t.Errorf("kcat error does not mention authentication: %s", errb.String())
			}
		})
	}
}
