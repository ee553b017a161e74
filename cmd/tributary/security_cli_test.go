package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/broker"
)

// TestUserAndACLCommands drives `tributary user` and `tributary acl` against a
// broker with a SASL_PLAINTEXT listener and an authorizer, authenticating with
// the --sasl-* flags every client command has.
func TestUserAndACLCommands(t *testing.T) {
	b := startSASLBroker(t)
	addr := b.Addrs()[0].String()
	as := func(user, pass string, args ...string) result {
		return runProgram(t, nil, binPath, append(args, "--bootstrap", addr, "--request-timeout", "10s",
			"--sasl-mechanism", "SCRAM-SHA-512", "--sasl-username", user, "--sasl-password", pass)...)
	}
	must := func(r result) string {
		t.Helper()
		if r.code != 0 {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		return r.stdout
	}

	must(as("admin", "admin-pw", "user", "create", "alice", "--password", "alice-pw"))
	var users []struct {
		User        string `json:"user"`
		Credentials []struct {
			Mechanism string `json:"mechanism"`
		} `json:"credentials"`
	}
	if err := json.Unmarshal([]byte(must(as("admin", "admin-pw", "user", "list", "--output", "json"))), &users); err != nil {
		t.Fatal(err)
	}
	if len(users) != 2 || users[1].User != "alice" || len(users[1].Credentials) != 2 {
		t.Fatalf("user list: %+v", users)
	}

	// alice may not create topics until granted.
	if r := as("alice", "alice-pw", "topic", "create", "orders"); r.code == 0 {
		t.Fatalf("alice created a topic without an ACL")
	}
	must(as("admin", "admin-pw", "acl", "add", "--principal", "User:alice", "--operation", "create,write,describe",
		"--topic", "orders"))
	must(as("alice", "alice-pw", "topic", "create", "orders"))
	out := must(as("admin", "admin-pw", "acl", "list", "--principal", "User:alice"))
	for _, want := range []string{"User:alice", "orders", "CREATE", "WRITE", "DESCRIBE", "ALLOW"} {
		if !strings.Contains(out, want) {
			t.Errorf("acl list lacks %q:\n%s", want, out)
		}
	}
	must(as("admin", "admin-pw", "acl", "remove", "--principal", "User:alice", "--topic", "orders", "--operation", "write"))
	if out := must(as("admin", "admin-pw", "acl", "list", "--principal", "User:alice")); strings.Contains(out, "WRITE") {
		t.Errorf("WRITE still listed after remove:\n%s", out)
	}

	// Wrong password, and a user that was deleted, are refused.
	if r := as("alice", "nope", "topic", "list"); r.code == 0 {
		t.Error("wrong password accepted")
	}
	must(as("admin", "admin-pw", "user", "delete", "alice"))
	if r := as("alice", "alice-pw", "topic", "list"); r.code == 0 {
		t.Error("deleted user accepted")
	}
}

// startSASLBroker starts an in-process broker whose only listener is
// SASL_PLAINTEXT, with the authorizer on and the super user admin
// (password admin-pw), and stops it at the end of the test.
func startSASLBroker(t *testing.T) *broker.Broker {
	t.Helper()
	b, err := broker.New(broker.Config{
		DataDir:         t.TempDir(),
		Listeners:       []string{"SASL_PLAINTEXT://127.0.0.1:0"},
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
		CleanerInterval: time.Minute,
		Security: broker.SecurityConfig{
			Authorizer: true,
			SuperUsers: []string{"User:admin"},
			Users:      []broker.BootstrapUser{{Name: "admin", Password: "admin-pw"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = b.Shutdown(ctx)
	})
	return b
}
