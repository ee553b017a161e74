package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker"
	"github.com/tributary-io/tributary/broker/auth"
)

// TestScramCredentialsAtRest: a SCRAM user created with
// AlterUserScramCredentials is kept in the node's metadata across a
// restart (it still authenticates), while no file under the data dir holds
// its password in clear or base64, and DescribeUserScramCredentials answers
// only mechanisms and iterations.
func TestScramCredentialsAtRest(t *testing.T) {
	const pass = "Pa55-unmistakable-7f1c9e"
	dir := t.TempDir()
	n := startNode(t, func(c *broker.Config) { c.DataDir = dir })
	createUser(t, n.admin(t), "erin", pass)
	if err := pingAs(t, n, "erin", pass); err != nil {
		t.Fatalf("erin before the restart: %v", err)
	}
	resp, err := n.saslClient(t, auth.MechanismScramSHA512, adminUser, adminPass).Request(testCtx(t), kmsg.NewPtrDescribeUserSCRAMCredentialsRequest())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range resp.(*kmsg.DescribeUserSCRAMCredentialsResponse).Results {
		if r.User == "erin" {
			found = len(r.CredentialInfos) == 2
		}
	}
	if !found {
		t.Errorf("DescribeUserScramCredentials does not list erin's two mechanisms: %+v", resp)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.b.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	// Nothing on disk holds the password.
	needles := [][]byte{[]byte(pass), []byte(base64.StdEncoding.EncodeToString([]byte(pass))), []byte(adminPass)}
	files := 0
	err = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for _, nd := range needles {
			if bytes.Contains(data, nd) {
				t.Errorf("%s holds a password in clear (%q)", path, nd)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatal("no file under the data dir: the scan checked nothing")
	}

	// The salted credentials survive the restart.
	n2 := startNode(t, func(c *broker.Config) { c.DataDir = dir })
	if err := pingAs(t, n2, "erin", pass); err != nil {
		t.Fatalf("erin after the restart: %v", err)
	}
	if err := pingAs(t, n2, "erin", "wrong"); err == nil {
		t.Fatal("erin with a wrong password after the restart was accepted")
	}
}

// pingAs connects to n's SASL_SSL listener as user with SCRAM-SHA-256.
func pingAs(t *testing.T, n *node, user, pass string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return n.saslClient(t, auth.MechanismScramSHA256, user, pass).Ping(ctx)
}
