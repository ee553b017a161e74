package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/platform/nodetest"
)

// TestCLIHTTPCredentials runs the REST and log-level commands against a
// node whose HTTP API requires authentication (security.http_auth, on with
// the authorizer): without credentials they get 401, with a SCRAM user's
// password (--http-user, or the SASL user of the environment) they act as
// that user under the cluster's ACLs (403 without the operation), and a
// bearer token acts as its principal.
func TestCLIHTTPCredentials(t *testing.T) {
	const token = "ops-token-0123456789abcdef"
	cfg := filepath.Join(t.TempDir(), "tributary.yaml")
	// Kafka clients here are anonymous on a PLAINTEXT listener; making
	// ANONYMOUS a super user lets the test's CLI grant ACLs without SASL.
	if err := os.WriteFile(cfg, []byte(`security:
  authorizer: true
  super_users: ["User:ANONYMOUS", "User:admin"]
  users: ["admin:admin-pw", "alice:alice-pw"]
  http_tokens:
    "`+token+`": "User:admin"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	n := bin.StartNode(t, nodetest.DataDir(t.TempDir()), nodetest.Flags("--config", cfg, "--plugin-dir", t.TempDir()))
	run := func(env []string, args ...string) result {
		t.Helper()
		return runProgramEnvIn(t, append(env, "TRIBUTARY_BOOTSTRAP="+n.Kafka()), strings.NewReader(""), binPath, args...)
	}
	logLevel := func(env []string, args ...string) result {
		return run(env, append([]string{"log-level"}, append(args, "--http", n.HTTP())...)...)
	}
	expect := func(what string, r result, code int, want string) {
		t.Helper()
		if r.code != code || !strings.Contains(r.stdout+r.stderr, want) {
			t.Errorf("%s: exit %d, want %d with %q\nstdout %s\nstderr %s", what, r.code, code, want, r.stdout, r.stderr)
		}
	}

	expect("no credentials", logLevel(nil, "get"), 1, "401")
	expect("wrong password", logLevel(nil, "get", "--http-user", "alice", "--http-password", "nope"), 1, "401")
	expect("alice without an ACL", logLevel(nil, "get", "--http-user", "alice", "--http-password", "alice-pw"), 1, "403")
	if r := run(nil, "acl", "add", "--principal", "User:alice", "--operation", "describe", "--cluster"); r.code != 0 {
		t.Fatalf("acl add: %s", r.stderr)
	}
	expect("alice with DESCRIBE on the cluster", logLevel(nil, "get", "--http-user", "alice", "--http-password", "alice-pw"), 0, "is info")
	expect("alice changing the level (ALTER)", logLevel(nil, "set", "debug", "--http-user", "alice", "--http-password", "alice-pw"), 1, "403")
	// The SASL user of the environment is the HTTP user too.
	sasl := []string{"TRIBUTARY_SASL_USERNAME=alice", "TRIBUTARY_SASL_PASSWORD=alice-pw"}
	expect("alice from the SASL environment", logLevel(sasl, "get"), 0, "is info")
	expect("token", logLevel([]string{"TRIBUTARY_HTTP_TOKEN=" + token}, "set", "debug"), 0, "set to debug")
	expect("wrong token", logLevel([]string{"TRIBUTARY_HTTP_TOKEN=nope"}, "get"), 1, "401")

	// The REST API commands take the same credentials.
	server := "--server=http://" + n.HTTP()
	expect("connector list without credentials", run(nil, "connector", "list", server), 1, "401")
	expect("connector list with a token", run(nil, "connector", "list", server, "--http-token", token, "--output", "json"), 0, "{}")
	expect("connector list as alice", run(sasl, "connector", "list", server, "--output", "json"), 0, "{}")
	expect("alice creating a connector (ALTER)", run(sasl, "connector", "create", "c", "plugin=file", server), 1, "403")
}
