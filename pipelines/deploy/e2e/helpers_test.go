package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// bin is the tributary binary and plugins a directory with the file
// plugin, both built once by TestMain.
var bin, plugins string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tributary-deploy-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin, plugins = filepath.Join(dir, "tributary"), filepath.Join(dir, "plugins")
	for _, b := range [][2]string{{bin, "../../../cmd/tributary"}, {filepath.Join(plugins, "file"), "../../../connectors/file"}} {
		cmd := exec.Command("go", "build", "-o", b[0], b[1])
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build", b[1], err)
			os.Exit(1)
		}
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// proc is a child process of the test.
type proc struct {
	cmd  *exec.Cmd
	out  *syncBuf
	done chan struct{}
}

func startProc(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), out: &syncBuf{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TRIBUTARY_") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			lines := strings.Split(p.out.String(), "\n")
			t.Logf("%s output (last 40 lines):\n%s", name, strings.Join(lines[max(0, len(lines)-40):], "\n"))
		}
	})
	return p
}

// kill sends SIGKILL and waits for the process.
func (p *proc) kill() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// node is a running `tributary serve`.
type node struct {
	proc       *proc
	kafka, api string
	dataDir    string
	config     string
}

// startNode runs serve with a worker (id node-1) on free ports, with
// config (YAML) written to a file when not empty; dataDir is reused so a
// restarted node keeps its data.
func startNode(t *testing.T, dataDir, kafka, api, config string) *node {
	t.Helper()
	if kafka == "" {
		kafka, api = freeAddr(t), freeAddr(t)
	}
	args := []string{"serve", "--data-dir", dataDir, "--listeners", kafka, "--http-addr", api,
		"--plugin-dir", plugins, "--groups-initial-rebalance-delay", "0s", "--groups-min-session-timeout", "1s", "--shutdown-timeout", "5s"}
	if config != "" {
		f := filepath.Join(dataDir, "..", "node.yaml")
		if err := os.WriteFile(f, []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", f)
	}
	n := &node{proc: startProc(t, "serve", args...), kafka: kafka, api: api, dataDir: dataDir, config: config}
	waitFor(t, 30*time.Second, "node ready", func() bool {
		resp, err := http.Get("http://" + api + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return n
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
	cmd := exec.Command(bin, args...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return string(out), code
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
	var out [][]byte
	for len(want) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %s: %v (left %v)", topic, ctx.Err(), want)
		}
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			for _, r := range p.Records {
				if !r.Attrs.IsControl() {
					out = append(out, r.Value)
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
func pluginPIDs() []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	want := filepath.Join(plugins, "file")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err == nil && exe == want {
			out = append(out, pid)
		}
	}
	return out
}
