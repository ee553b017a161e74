package platform

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/broker"
)

// The inter-broker settings reach the broker from the file, the environment
// (the password) and flags, and a cluster node on a SASL listener without
// credentials is refused with the problem named.
func TestInterBrokerSettings(t *testing.T) {
	p := writeFile(t, `
listeners: ["SASL_SSL://127.0.0.1:19092", "INTERNAL://127.0.0.1:19093"]
cluster:
  raft_addr: 127.0.0.1:19094
security:
  listener_protocols: {INTERNAL: SASL_PLAINTEXT}
  tls_cert_file: node.pem
  tls_key_file: node-key.pem
  inter_broker_listener: INTERNAL
  inter_broker_user: broker
  inter_broker_ca_file: peers-ca.pem
`)
	env := envMap(map[string]string{"TRIBUTARY_SECURITY_INTER_BROKER_PASSWORD": "s3cret"})
	fs := parsedFlags(t, "--config", p, "--security-inter-broker-sasl-mechanism", "SCRAM-SHA-256")
	c, err := Load(Sources{Env: env, Flags: fs})
	if err != nil {
		t.Fatal(err)
	}
	bc, err := c.BrokerConfig(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	want := broker.InterBrokerConfig{Listener: "INTERNAL", SASLMechanism: "SCRAM-SHA-256", Username: "broker",
		Password: "s3cret", CAFile: "peers-ca.pem"}
	if got := bc.Security.InterBroker; got != want {
		t.Fatalf("inter-broker config = %+v, want %+v", got, want)
	}
	if err := bc.Validate(); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}

	bc.Security.InterBroker = broker.InterBrokerConfig{Listener: "INTERNAL"}
	err = bc.Validate()
	if err == nil || !strings.Contains(err.Error(), "inter-broker listener INTERNAL is SASL_PLAINTEXT: the broker's SASL username and password are required") {
		t.Fatalf("missing credentials: got %v", err)
	}
}
