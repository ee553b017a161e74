package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binPath is the tributary binary TestMain builds once for every test.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tributary-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "tributary")
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build tributary:", err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// lockedBuffer collects a child process's output while tests read it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is a `tributary serve` child process.
type server struct {
	t        *testing.T
	dataDir  string
	kafka    string // host:port of the Kafka listener
	http     string // host:port of the HTTP server
	cmd      *exec.Cmd
	stderr   *lockedBuffer
	done     chan struct{} // closed when the process has exited
	waitErr  error         // cmd.Wait's result; read after done
	stopOnce sync.Once
}

// freePort asks the OS for a free loopback port. Another process may take it
// before the server binds it; startServer retries when that happens.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startServer runs `tributary serve` on free loopback ports with dataDir and
// waits until /readyz answers 200. The process is killed at the end of the
// test if it is still running.
func startServer(t *testing.T, dataDir string, extra ...string) *server {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := tryStartServer(t, dataDir, extra)
		if err == nil {
			return s
		}
		lastErr = err
		t.Logf("start attempt %d: %v", attempt+1, err)
	}
	t.Fatalf("could not start tributary serve: %v", lastErr)
	return nil
}

func tryStartServer(t *testing.T, dataDir string, extra []string) (*server, error) {
	s := &server{
		t: t, dataDir: dataDir,
		kafka:  fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		http:   fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		stderr: &lockedBuffer{},
		done:   make(chan struct{}),
	}
	// No worker: these tests check exact topic and group lists, which the
	// worker's internal topics and group would join (pipelines/deploy/e2e
	// tests the worker).
	args := append([]string{"serve", "--data-dir", dataDir, "--listeners", s.kafka, "--http-addr", s.http,
		"--shutdown-timeout", "10s", "--worker-disabled"}, extra...)
	s.cmd = exec.Command(binPath, args...)
	s.cmd.Stdout = s.stderr
	s.cmd.Stderr = s.stderr
	s.cmd.Env = cleanEnv()
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start process: %w", err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			t.Logf("server log (%s):\n%s", s.kafka, tail(s.stderr.String(), 60))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	client := http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return nil, fmt.Errorf("server exited early (%v):\n%s", s.waitErr, tail(s.stderr.String(), 30))
		default:
		}
		resp, err := client.Get("http://" + s.http + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.kill()
	return nil, fmt.Errorf("not ready within 30s:\n%s", tail(s.stderr.String(), 30))
}

// terminate sends SIGTERM and waits up to limit for the exit code.
func (s *server) terminate(limit time.Duration) (int, error) {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return -1, fmt.Errorf("send SIGTERM: %w", err)
	}
	select {
	case <-s.done:
	case <-time.After(limit):
		s.kill()
		return -1, fmt.Errorf("did not exit within %s after SIGTERM", limit)
	}
	var exitErr *exec.ExitError
	if errors.As(s.waitErr, &exitErr) {
		return exitErr.ExitCode(), nil
	}
	if s.waitErr != nil {
		return -1, s.waitErr
	}
	return 0, nil
}

func (s *server) kill() {
	s.stopOnce.Do(func() {
		select {
		case <-s.done:
			return
		default:
		}
		_ = s.cmd.Process.Kill()
		<-s.done
	})
}

// cleanEnv is the test's environment without TRIBUTARY_* variables, so a
// developer's settings cannot change what the tests run against.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TRIBUTARY_") {
			env = append(env, kv)
		}
	}
	return env
}

func tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// result is a finished child process.
type result struct {
	stdout, stderr string
	code           int
}

// runProgram runs name with args and stdin, bounded by a minute.
func runProgram(t *testing.T, stdin io.Reader, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &out, &errb
	cmd.Env = cleanEnv()
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		r.code = exitErr.ExitCode()
	default:
		t.Fatalf("run %s %v: %v", name, args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s %v did not finish within a minute; stderr:\n%s", name, args, r.stderr)
	}
	return r
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

// needKcat returns kcat's path. Without kcat the test fails under CI=true
// (make test installs it) and is skipped with a reason elsewhere.
func needKcat(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kcat")
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("kcat is required under CI=true (install it with .ci/install-deps.sh): %v", err)
	}
	t.Skipf("kcat not installed (apt-get install kcat, or make deps); these tests need it: %v", err)
	return ""
}
