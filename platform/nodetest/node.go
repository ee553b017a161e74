package nodetest

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Opt configures a node (NewNode, StartNode).
type Opt func(*config)

type config struct {
	name         string
	dataDir      string
	kafka, http  string
	flags        []string
	env          []string
	yaml         string
	readyTimeout time.Duration
}

func defaultConfig() config {
	return config{name: "serve", readyTimeout: time.Minute}
}

func (c *config) validate() error {
	var errs []error
	for _, check := range []struct {
		bad  bool
		what string
	}{
		{c.name == "", "Name is empty"},
		{(c.kafka == "") != (c.http == ""), "Ports needs both the Kafka and the HTTP address"},
		{c.readyTimeout <= 0, "ReadyTimeout is not positive"},
	} {
		if check.bad {
			errs = append(errs, errors.New(check.what))
		}
	}
	return errors.Join(errs...)
}

// Name says which node it is in logs and failure reports; default "serve".
func Name(name string) Opt { return func(c *config) { c.name = name } }

// DataDir is the node's data dir; default a new t.TempDir(). A node started
// again on the same dir (Restart, or a later node) finds its data.
func DataDir(dir string) Opt { return func(c *config) { c.dataDir = dir } }

// Ports fixes the node's Kafka listener and HTTP address (host:port, on
// 127.0.0.1); default free ports picked by the harness.
func Ports(kafka, http string) Opt {
	return func(c *config) { c.kafka, c.http = kafka, http }
}

// Flags adds `tributary serve` flags after the harness's own, so they win
// over its defaults (--shutdown-timeout 10s, --groups-initial-rebalance-delay 0s).
func Flags(args ...string) Opt {
	return func(c *config) { c.flags = append(c.flags, args...) }
}

// EnvVars adds KEY=VALUE entries to the node's environment, after the ones
// Env keeps: a secret a node must read from its environment (a password
// that no file or flag should hold) reaches it only this way.
func EnvVars(kv ...string) Opt {
	return func(c *config) { c.env = append(c.env, kv...) }
}

// Config writes yaml to a file the node reads with --config. Flags win over
// the file, the harness's defaults included.
func Config(yaml string) Opt { return func(c *config) { c.yaml = yaml } }

// ReadyTimeout bounds the wait for the node to be ready; default a minute.
func ReadyTimeout(d time.Duration) Opt { return func(c *config) { c.readyTimeout = d } }

// startAttempts is how often StartNode tries free ports before it gives up.
const startAttempts = 3

// Node is a `tributary serve` process with its ports and data dir; the
// process comes and goes (Stop, Kill, Restart), the ports and dir stay.
// Its methods may be called from several goroutines.
type Node struct {
	t          testing.TB
	bin        *Binary
	cfg        config
	fixed      bool   // the ports came from Ports: StartNode does not move them
	configPath string // the --config file, when Config was given

	mu   sync.Mutex
	proc *Process // the current or last run; nil before Launch
}

// NewNode prepares a node without starting it: its ports (free ones unless
// Ports fixes them), data dir and config file. Launch or Start runs it.
func (b *Binary) NewNode(t testing.TB, opts ...Opt) *Node {
	t.Helper()
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		t.Fatalf("nodetest: %v", err)
	}
	n := &Node{t: t, bin: b, cfg: cfg, fixed: cfg.kafka != ""}
	if n.cfg.dataDir == "" {
		n.cfg.dataDir = t.TempDir()
	}
	if cfg.yaml != "" {
		n.configPath = filepath.Join(t.TempDir(), "node.yaml")
		if err := os.WriteFile(n.configPath, []byte(cfg.yaml), 0o644); err != nil {
			t.Fatalf("nodetest: write the config of %s: %v", cfg.name, err)
		}
	}
	if !n.fixed {
		addrs := FreeAddrs(t, 2)
		n.cfg.kafka, n.cfg.http = addrs[0], addrs[1]
	}
	return n
}

// StartNode starts a node and waits until it is ready. On free ports a
// failed start is tried again on other ones (a port may be taken between the
// pick and the bind); the test fails when no attempt succeeds.
func (b *Binary) StartNode(t testing.TB, opts ...Opt) *Node {
	t.Helper()
	n := b.NewNode(t, opts...)
	attempts := startAttempts
	if n.fixed {
		attempts = 1
	}
	var err error
	for i := range attempts {
		if i > 0 {
			t.Logf("%s: start attempt %d failed, trying other ports: %v", n.cfg.name, i, err)
			addrs := FreeAddrs(t, 2)
			n.cfg.kafka, n.cfg.http = addrs[0], addrs[1]
		}
		if err = n.launch(); err == nil {
			if err = n.waitReady(); err == nil {
				return n
			}
			n.Kill()
		}
	}
	t.Fatalf("could not start %s: %v", n.cfg.name, err)
	return nil
}

// Kafka is the node's Kafka listener, host:port.
func (n *Node) Kafka() string { return n.cfg.kafka }

// HTTP is the node's HTTP address (REST API, /metrics, /readyz), host:port.
func (n *Node) HTTP() string { return n.cfg.http }

// DataDir is the node's data dir.
func (n *Node) DataDir() string { return n.cfg.dataDir }

// Process is the node's current run, or its last one once it has exited;
// nil before the node was launched.
func (n *Node) Process() *Process {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.proc
}

func (n *Node) args() []string {
	args := []string{"serve", "--data-dir", n.cfg.dataDir, "--listeners", n.cfg.kafka, "--http-addr", n.cfg.http,
		"--shutdown-timeout", "10s", "--groups-initial-rebalance-delay", "0s"}
	if n.configPath != "" {
		args = append(args, "--config", n.configPath)
	}
	return append(args, n.cfg.flags...)
}

// Launch starts the node's process without waiting for it to be ready: a
// cluster launches every member, then waits for each (WaitReady).
func (n *Node) Launch() {
	n.t.Helper()
	if err := n.launch(); err != nil {
		n.t.Fatal(err)
	}
}

func (n *Node) launch() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc != nil && !n.proc.Exited() {
		return fmt.Errorf("launch %s: it is still running", n.cfg.name)
	}
	p, err := startProcess(n.t, n.cfg.name, n.bin.Path, n.args(), n.cfg.env)
	if err != nil {
		return err
	}
	n.proc = p
	return nil
}

// WaitReady waits until the node's /readyz answers 200 and its Kafka port
// accepts connections; the test fails if the process exits first or the
// ReadyTimeout passes.
func (n *Node) WaitReady() {
	n.t.Helper()
	if err := n.waitReady(); err != nil {
		n.t.Fatal(err)
	}
}

// readyPoll is how often waitReady asks the node.
const readyPoll = 50 * time.Millisecond

func (n *Node) waitReady() error {
	p := n.Process()
	if p == nil {
		return fmt.Errorf("wait for %s: it was not launched", n.cfg.name)
	}
	client := http.Client{Timeout: time.Second}
	deadline := time.Now().Add(n.cfg.readyTimeout)
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	for {
		if n.ready(&client) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready within %s:\n%s", n.cfg.name, n.cfg.readyTimeout, p.out.Tail(30))
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited while starting (exit code %d):\n%s", n.cfg.name, p.ExitCode(), p.out.Tail(30))
		case <-tick.C:
		}
	}
}

func (n *Node) ready(client *http.Client) bool {
	resp, err := client.Get("http://" + n.cfg.http + "/readyz")
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	conn, err := net.DialTimeout("tcp", n.cfg.kafka, time.Second)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}

// Start launches the node and waits until it is ready.
func (n *Node) Start() {
	n.t.Helper()
	n.Launch()
	n.WaitReady()
}

// Stop sends SIGTERM (a controlled shutdown) and waits up to limit for the
// node to exit, returning its exit code; a node still running at the limit
// is killed and Stop returns an error. Stopping a stopped node returns its
// exit code.
func (n *Node) Stop(limit time.Duration) (int, error) {
	p := n.Process()
	if p == nil {
		return -1, fmt.Errorf("stop %s: it was not launched", n.cfg.name)
	}
	return p.Stop(limit)
}

// Kill sends SIGKILL to the node's process, if it runs, and waits for it.
func (n *Node) Kill() {
	if p := n.Process(); p != nil {
		p.Kill()
	}
}

// Restart starts the node again on the same ports, data dir and flags and
// waits until it is ready. A node still running is stopped first (SIGTERM,
// bounded by ReadyTimeout).
func (n *Node) Restart() {
	n.t.Helper()
	if p := n.Process(); p != nil && !p.Exited() {
		if _, err := p.Stop(n.cfg.readyTimeout); err != nil {
			n.t.Fatalf("restart: %v", err)
		}
	}
	n.Start()
}

// FreeAddr is a free 127.0.0.1 address (host:port). Another process may
// take the port before the caller binds it.
func FreeAddr(t testing.TB) string {
	t.Helper()
	return FreeAddrs(t, 1)[0]
}

// FreeAddrs is n distinct free 127.0.0.1 addresses, as a cluster's members
// need before any of them starts.
func FreeAddrs(t testing.TB, n int) []string {
	t.Helper()
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	out := make([]string, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("pick a free port: %v", err)
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().String())
	}
	return out
}
