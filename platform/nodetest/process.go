package nodetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Output collects a child process's output while a test reads it. The zero
// value is ready to use.
type Output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p; the process's stdout and stderr both write here.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

// String is everything written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// Tail is the last n lines written so far.
func (o *Output) Tail(n int) string { return Tail(o.String(), n) }

// Tail is the last n lines of s, as failure reports show a long log.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Env is the test's environment without TRIBUTARY_* variables: every
// process this package starts gets it, so that a developer's settings cannot
// change what a test runs against.
func Env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TRIBUTARY_") {
			env = append(env, kv)
		}
	}
	return env
}

// failureLines is how much of a process's output a failed test logs.
const failureLines = 40

// Process is a child process of a test, its stdout and stderr captured in
// one Output. Its methods may be called from several goroutines.
type Process struct {
	name    string
	cmd     *exec.Cmd
	out     *Output
	done    chan struct{} // closed by wait once the process has exited
	waitErr error         // cmd.Wait's result; read after done
}

// Start runs the binary with args; name says which process it is in
// failure reports. The process is killed when the test ends, and its output
// logged if the test failed.
func (b *Binary) Start(t testing.TB, name string, args ...string) *Process {
	t.Helper()
	p, err := startProcess(t, name, b.Path, args, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startProcess runs path with args in the environment Env gives plus env
// (KEY=VALUE entries, later ones winning).
func startProcess(t testing.TB, name, path string, args, env []string) (*Process, error) {
	p := &Process{name: name, cmd: exec.Command(path, args...), out: &Output{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.Env = append(Env(), env...)
	// Plugin processes the child started inherit its output pipe; when
	// they outlive a SIGKILLed child, Wait must not wait for them.
	p.cmd.WaitDelay = 5 * time.Second
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	// wait is owned by p: every path that ends the process (Stop, Kill,
	// the test's cleanup) waits for done.
	go p.wait()
	t.Cleanup(func() { p.cleanup(t) })
	return p, nil
}

func (p *Process) wait() {
	p.waitErr = p.cmd.Wait()
	close(p.done)
}

// cleanup ends the process at the end of the test. When the test failed it
// logs the tail of the output first and, if the process still runs, asks it
// for a goroutine dump (SIGQUIT) and saves the whole output in a file, as a
// stuck process shows where it waits.
func (p *Process) cleanup(t testing.TB) {
	if !t.Failed() {
		p.Kill()
		return
	}
	t.Logf("%s output (last %d lines):\n%s", p.name, failureLines, p.out.Tail(failureLines))
	if !p.Exited() {
		_ = p.cmd.Process.Signal(syscall.SIGQUIT)
		timer := time.NewTimer(5 * time.Second)
		select {
		case <-p.done:
		case <-timer.C:
		}
		timer.Stop()
		if f, err := os.CreateTemp("", "nodetest-*.log"); err == nil {
			_, _ = f.WriteString(p.out.String())
			_ = f.Close()
			t.Logf("%s whole output with a goroutine dump: %s", p.name, f.Name())
		}
	}
	p.Kill()
}

// Output is what the process wrote to stdout and stderr.
func (p *Process) Output() *Output { return p.out }

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ExitCode is the exit code of an exited process: -1 while it runs or when
// a signal ended it.
func (p *Process) ExitCode() int {
	if !p.Exited() || p.cmd.ProcessState == nil {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// Kill sends SIGKILL unless the process has exited, and waits for it.
func (p *Process) Kill() {
	if !p.Exited() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.done
}

// Stop sends SIGTERM and waits up to limit for the process to exit,
// returning its exit code. A process still running at the limit is killed
// and Stop returns an error.
func (p *Process) Stop(limit time.Duration) (int, error) {
	// ErrProcessDone: it exited on its own; done is about to close.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return -1, fmt.Errorf("send SIGTERM to %s: %w", p.name, err)
	}
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		p.Kill()
		return -1, fmt.Errorf("%s did not exit within %s of SIGTERM", p.name, limit)
	}
	if p.cmd.ProcessState == nil {
		return -1, fmt.Errorf("wait for %s: %w", p.name, p.waitErr)
	}
	return p.cmd.ProcessState.ExitCode(), nil
}

// runLimit bounds Run: a command that hangs fails its test instead of the
// whole test binary timing out.
const runLimit = time.Minute

// Result is a finished command.
type Result struct {
	Stdout, Stderr string
	Code           int // the exit code; -1 when a signal ended the process
}

// Run runs the binary with args and stdin (nil for none) to completion,
// bounded by a minute.
func (b *Binary) Run(t testing.TB, stdin io.Reader, args ...string) Result {
	t.Helper()
	return Run(t, stdin, b.Path, args...)
}

// Run runs the program name (another client the tests drive, such as kcat)
// with args and stdin (nil for none) to completion in the environment Env
// gives, bounded by a minute.
func Run(t testing.TB, stdin io.Reader, name string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr, cmd.Env = stdin, &stdout, &stderr, Env()
	err := cmd.Run()
	r := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		r.Code = exitErr.ExitCode()
	default:
		t.Fatalf("run %s %v: %v", name, args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s %v did not finish within %s; stderr:\n%s", name, args, runLimit, Tail(r.Stderr, failureLines))
	}
	return r
}
