package main

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tributary-io/tributary/platform/nodetest"
)

// makeRunLimit bounds how long `make run` may take to build every binary from
// a cold cache and start the node.
const makeRunLimit = 5 * time.Minute

// TestMakeRun runs `make run` from the repository root as README's first
// step does, and checks that `kcat -L` answers, that records go through, and
// that Ctrl-C (SIGINT to the foreground process group) stops the node
// gracefully. Only what must not collide with other tests on this machine
// differs from a fresh clone: the binaries go to a temporary BIN, the data to
// a temporary DATA, and the ports come from TRIBUTARY_* variables (the
// embedded defaults, localhost:9092 and :8080, are checked by platform's
// config tests).
func TestMakeRun(t *testing.T) {
	kcat := needKcat(t)
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatalf("make is required: %v", err)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	_, port, _ := net.SplitHostPort(nodetest.FreeAddr(t))
	kafka := "localhost:" + port
	httpAddr := nodetest.FreeAddr(t)

	cmd := exec.Command("make", "--no-print-directory", "run",
		"BIN="+filepath.Join(tmp, "bin"), "DATA="+filepath.Join(tmp, "data"))
	cmd.Dir = root
	// A fresh shell's make: not a sub-make of the `make test` that may be
	// running this test.
	var env []string
	for _, kv := range nodetest.Env() {
		if name, _, _ := strings.Cut(kv, "="); name != "MAKEFLAGS" && name != "MFLAGS" && name != "MAKELEVEL" {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "TRIBUTARY_LISTENERS="+kafka, "TRIBUTARY_HTTP_ADDR="+httpAddr)
	out := &nodetest.Output{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // make and the node: one group, as in a terminal
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		if t.Failed() {
			t.Logf("make run output:\n%s", out.Tail(40))
		}
	})

	// Poll kcat -L until it lists the broker, while make builds and starts it.
	brokerLine := regexp.MustCompile(`(?m)^\s+broker 1 at ` + regexp.QuoteMeta(kafka))
	deadline := time.Now().Add(makeRunLimit)
	for {
		select {
		case <-done:
			t.Fatalf("make run exited before the broker answered")
		default:
		}
		r := runProgram(t, nil, kcat, "-b", kafka, "-L", "-m", "2")
		if r.code == 0 && brokerLine.MatchString(r.stdout) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("kcat -L did not list broker 1 at %s within %v: exit %d\n%s%s", kafka, makeRunLimit, r.code, r.stdout, r.stderr)
		}
		time.Sleep(500 * time.Millisecond) // between kcat runs while the build goes on
	}
	if _, err := os.Stat(filepath.Join(tmp, "bin", "tributary")); err != nil {
		t.Fatalf("make run did not build into BIN: %v", err)
	}

	// README's kcat round trip.
	in := strings.NewReader("alice:{\"item\":\"book\"}\nbob:{\"item\":\"pen\"}\n")
	if r := runProgram(t, in, kcat, "-b", kafka, "-P", "-t", "orders", "-K:"); r.code != 0 {
		t.Fatalf("kcat -P: exit %d: %s", r.code, r.stderr)
	}
	got := kcatConsumeAll(t, kcat, kafka, "orders", `%o %k=%s\n`)
	if want := []string{`0 alice={"item":"book"}`, `1 bob={"item":"pen"}`}; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("kcat -C printed %q, want %q", got, want)
	}

	// Ctrl-C: the terminal sends SIGINT to make and the node alike.
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("make run still running 30s after SIGINT")
	}
	log := out.String()
	for _, want := range []string{"shutting down", "signal=interrupt", "node stopped"} {
		if !strings.Contains(log, want) {
			t.Fatalf("node log lacks %q after SIGINT:\n%s", want, out.Tail(30))
		}
	}
	if strings.Contains(log, "second signal") {
		t.Fatalf("one SIGINT was taken for two:\n%s", out.Tail(30))
	}
	// The node is gone: its port no longer accepts.
	if c, err := net.DialTimeout("tcp", kafka, time.Second); err == nil {
		c.Close()
		t.Fatalf("%s still accepts after the node stopped", kafka)
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Logf("dial after stop: %v", err)
	}
	if ents, err := os.ReadDir(filepath.Join(tmp, "data")); err != nil || len(ents) == 0 {
		t.Fatalf("DATA holds nothing after the run (%v)", err)
	}
}
