package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/tributary-io/tributary/broker/auth/authtest"
)

// TestSecuredNodeWorkerAndConsole runs a node whose only Kafka listener is
// SASL_SSL with the authorizer on: its connector and pipeline worker and its
// web console authenticate like any other client (as the broker's own
// user), so a file source connector and a topic-to-topic pipeline move
// records, and the console lists the topics.
func TestSecuredNodeWorkerAndConsole(t *testing.T) {
	pki := authtest.NewPKI(t)
	cert, key := pki.Issue(t, "broker", authtest.CertOptions{Usage: authtest.Server, File: "server"})
	n := startNodeWith(t, Config{
		HTTPAddr: "127.0.0.1:0", Listeners: []string{"SASL_SSL://127.0.0.1:0"}, DataDir: t.TempDir(), NumPartitions: 1,
		Groups: GroupsConfig{InitialRebalanceDelay: new(time.Duration)},
		Worker: WorkerSection{PluginDir: buildFilePlugin(t)},
		Security: SecuritySection{
			TLSCertFile: cert, TLSKeyFile: key, TLSCAFile: pki.CAFile(),
			Authorizer: true, SuperUsers: []string{"User:broker"},
			Users:           []string{"broker:broker-pw"},
			InterBrokerUser: "broker", InterBrokerPassword: "broker-pw",
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if n.worker == nil {
		t.Fatal("the worker did not start on a SASL_SSL-only node")
	}
	base := "http://" + n.HTTPAddr().String()
	call := func(method, path string, body any, want int) string {
		t.Helper()
		data, _ := json.Marshal(body)
		req, err := http.NewRequest(method, base+path, bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth("broker", "broker-pw")
		resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d, want %d\n%s", method, path, resp.StatusCode, want, out)
		}
		return string(out)
	}

	tlsCfg := pki.ClientTLS(t, "", "")
	cl, err := kgo.NewClient(kgo.SeedBrokers(dialable(n.KafkaAddrs()[0])), kgo.DialTLSConfig(tlsCfg),
		kgo.SASL(scram.Auth{User: "broker", Pass: "broker-pw"}.AsSha512Mechanism()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for _, topic := range []string{"secure-logs", "secure-copy"} {
		if _, err := adm.CreateTopic(ctx, 1, 1, nil, topic); err != nil {
			t.Fatalf("create %s: %v", topic, err)
		}
	}
	logDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(logDir, "app.log"), []byte("line-1\nline-2\nline-3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	call("POST", "/connectors", map[string]any{"name": "tail", "config": map[string]string{
		"plugin": "file", "type": "source", "topic": "secure-logs", "paths": logDir + "/app.log", "poll.interval": "50ms"}}, 201)
	call("POST", "/pipelines", map[string]any{"name": "copy", "manifest": `apiVersion: tributary.io/v1
kind: Pipeline
metadata:
  name: copy
spec:
  input:
    topics: [secure-logs]
  outputs:
    - name: out
      topic: secure-copy
`}, 201)

	// The pipeline's output holds the three lines the connector read.
	read, err := kgo.NewClient(kgo.SeedBrokers(dialable(n.KafkaAddrs()[0])), kgo.DialTLSConfig(tlsCfg),
		kgo.SASL(scram.Auth{User: "broker", Pass: "broker-pw"}.AsSha512Mechanism()),
		kgo.ConsumeTopics("secure-copy"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer read.Close()
	var got []string
	for len(got) < 3 {
		fs := read.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %q from secure-copy before the deadline; connector %s, pipeline %s", got,
				call("GET", "/connectors/tail/status", nil, 200), call("GET", "/pipelines/copy/status", nil, 200))
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	if strings.Join(got, ",") != "line-1,line-2,line-3" {
		t.Errorf("secure-copy holds %q, want the three lines", got)
	}

	// The console reads the cluster through the same authenticated client.
	deadline := time.Now().Add(20 * time.Second)
	for {
		body := call("GET", "/console/topics", nil, 200)
		if strings.Contains(body, `href="/console/topics/secure-logs"`) && strings.Contains(body, `href="/console/topics/secure-copy"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the console's topics page does not list the topics:\n%s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if body := call("GET", "/console/topics/secure-copy", nil, 200); !strings.Contains(body, "line-2") {
		t.Errorf("the console's message browser does not show the records:\n%s", body)
	}
}
