package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/platform/nodetest"
)

// bin is the tributary binary, with the file plugin in plugins, both built
// once by TestMain.
var (
	bin     *nodetest.Binary
	plugins string
)

func TestMain(m *testing.M) {
	bin = nodetest.MustBuild(nodetest.Plugins("file"))
	plugins = bin.PluginDir
	code := m.Run()
	bin.Remove()
	os.Exit(code)
}

// proc is a child process of the test.
type proc struct{ p *nodetest.Process }

// startProc runs the binary with args; the process is killed when the test
// ends, and its output shown if the test failed.
func startProc(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	return &proc{p: bin.Start(t, name, args...)}
}

// kill sends SIGKILL and waits for the process.
func (p *proc) kill() { p.p.Kill() }

// node is a running `tributary serve`.
type node struct {
	proc       *proc
	kafka, api string
	dataDir    string
	config     string
}

// startNode runs serve with a worker (id node-1) on free ports, or on kafka
// and api when given, with config (YAML) when not empty; dataDir is reused
// so a restarted node keeps its data.
func startNode(t *testing.T, dataDir, kafka, api, config string) *node {
	t.Helper()
	opts := []nodetest.Opt{nodetest.DataDir(dataDir),
		nodetest.Flags("--plugin-dir", plugins, "--groups-min-session-timeout", "1s", "--shutdown-timeout", "5s")}
	if kafka != "" {
		opts = append(opts, nodetest.Ports(kafka, api))
	}
	if config != "" {
		opts = append(opts, nodetest.Config(config))
	}
	n := bin.StartNode(t, opts...)
	return &node{proc: &proc{p: n.Process()}, kafka: n.Kafka(), api: n.HTTP(), dataDir: dataDir, config: config}
}

// waitFor polls cond every 50ms until it holds or limit passes.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cli runs a tributary command against n and returns its output and exit code.
func (n *node) cli(t *testing.T, args ...string) (string, int) {
	t.Helper()
	switch args[0] {
	case "apply", "delete":
		args = append(args, "--server", n.api, "--bootstrap", n.kafka)
	case "connector", "pipeline":
		args = append(args, "--server", n.api)
	default:
		args = append(args, "--bootstrap", n.kafka)
	}
	r := bin.Run(t, nil, args...)
	return r.Stdout + r.Stderr, r.Code
}

// call does one REST call and decodes the answer into out.
func (n *node) call(t *testing.T, method, path string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, "http://"+n.api+path, rd)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

// taskStatus is a connector's status as the REST API gives it.
type taskStatus struct {
	Connector struct {
		State string `json:"state"`
	} `json:"connector"`
	Tasks []struct {
		ID     int    `json:"id"`
		State  string `json:"state"`
		Worker string `json:"worker_id"`
		Trace  string `json:"trace"`
	} `json:"tasks"`
}

// readAll reads topic from the start with read_committed up to its last
// stable offsets and returns the values in order per partition.
func readAll(t *testing.T, seeds, topic string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, r := range readAllRecords(t, seeds, topic) {
		out = append(out, r.Value)
	}
	return out
}

// header returns the value of r's header called key.
func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// readAllRecords is readAll returning the records.
func readAllRecords(t *testing.T, seeds, topic string) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm, err := kgo.NewClient(kgo.SeedBrokers(seeds))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	ends, err := kadm.NewClient(adm).ListCommittedOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("list offsets of %s: %v", topic, err)
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	if len(want) == 0 {
		return nil
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []*kgo.Record
	for len(want) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %s: %v (left %v)", topic, ctx.Err(), want)
		}
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			for _, r := range p.Records {
				if !r.Attrs.IsControl() {
					out = append(out, r)
				}
				if r.Offset+1 >= want[p.Partition] {
					delete(want, p.Partition)
				}
			}
		})
	}
	return out
}

func strs(vs [][]byte) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// pluginPIDs lists the running file plugin processes (children of any
// worker of this test binary's plugin dir).
func pluginPIDs() []int { return bin.PluginPIDs("file") }
