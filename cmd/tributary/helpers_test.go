package main

import (
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/platform/nodetest"
)

// bin is the tributary binary TestMain builds once for every test, and
// binPath its path.
var (
	bin     *nodetest.Binary
	binPath string
)

func TestMain(m *testing.M) {
	bin = nodetest.MustBuild()
	binPath = bin.Path
	code := m.Run()
	bin.Remove()
	os.Exit(code)
}

// server is a `tributary serve` child process.
type server struct {
	node    *nodetest.Node
	dataDir string
	kafka   string           // host:port of the Kafka listener
	http    string           // host:port of the HTTP server
	stderr  *nodetest.Output // the process's stdout and stderr
}

// freePort is a free loopback port. Another process may take it before the
// server binds it.
func freePort(t *testing.T) int {
	t.Helper()
	_, port, err := net.SplitHostPort(nodetest.FreeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// startServer runs `tributary serve` on free loopback ports with dataDir and
// extra flags, and waits until it is ready. The process is killed at the end
// of the test if it is still running.
func startServer(t *testing.T, dataDir string, extra ...string) *server {
	t.Helper()
	// No worker: these tests check exact topic and group lists, which the
	// worker's internal topics and group would join (pipelines/deploy/e2e
	// tests the worker).
	n := bin.StartNode(t, nodetest.DataDir(dataDir), nodetest.Flags(append([]string{"--worker-disabled"}, extra...)...))
	return &server{node: n, dataDir: dataDir, kafka: n.Kafka(), http: n.HTTP(), stderr: n.Process().Output()}
}

// terminate sends SIGTERM and waits up to limit for the exit code.
func (s *server) terminate(limit time.Duration) (int, error) { return s.node.Stop(limit) }

func tail(s string, lines int) string { return nodetest.Tail(s, lines) }

// result is a finished child process.
type result struct {
	stdout, stderr string
	code           int
}

// runProgram runs name with args and stdin, bounded by a minute.
func runProgram(t *testing.T, stdin io.Reader, name string, args ...string) result {
	t.Helper()
	r := nodetest.Run(t, stdin, name, args...)
	return result{stdout: r.Stdout, stderr: r.Stderr, code: r.Code}
}

// cli runs the tributary binary against s.
func (s *server) cli(t *testing.T, stdin io.Reader, args ...string) result {
	t.Helper()
	return runProgram(t, stdin, binPath, append(args, "--bootstrap", s.kafka)...)
}

// mustCLI runs the tributary binary and fails the test unless it exits 0.
func (s *server) mustCLI(t *testing.T, stdin io.Reader, args ...string) string {
	t.Helper()
	r := s.cli(t, stdin, args...)
	if r.code != 0 {
		t.Fatalf("tributary %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// needKcat returns kcat's path; without kcat the test fails.
func needKcat(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kcat")
	if err == nil {
		return p
	}
	// A real librdkafka client is part of what these tests prove; without it
	// they fail rather than skip (make test installs it with .ci/install-deps.sh).
	t.Fatalf("kcat is required (apt-get install kcat, or make deps): %v", err)
	return ""
}
