package main

import (
	"bufio"
	"context"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWorkerAuthenticates: a standalone `tributary worker` reaches a broker
// that takes only SASL clients with the --sasl-* flags, like every client
// command (it creates and reads the workers' internal topics as that
// user), and without them it fails to start with an error.
func TestWorkerAuthenticates(t *testing.T) {
	b := startSASLBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := []string{"worker", "--bootstrap", b.Addrs()[0].String(), "--plugin-dir", t.TempDir(), "--worker-id", "w1",
		"--request-timeout", "5s"}

	if r := runProgram(t, nil, binPath, args...); r.code == 0 || !strings.Contains(r.stderr, "SASL") {
		t.Fatalf("worker without credentials: exit %d, want a failure naming SASL\n%s", r.code, r.stderr)
	}

	cmd := exec.CommandContext(ctx, binPath, append(args, "--sasl-mechanism", "SCRAM-SHA-512",
		"--sasl-username", "admin", "--sasl-password", "admin-pw")...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	var log strings.Builder
	started := false
	for !started && sc.Scan() { // bounded by ctx, which kills the process
		log.WriteString(sc.Text() + "\n")
		started = strings.Contains(sc.Text(), "worker started")
	}
	if !started {
		_ = cmd.Wait()
		t.Fatalf("the authenticated worker did not start:\n%s", log.String())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	drained := make(chan struct{})
	go func() { // the rest of the log, until the process closes stderr
		defer close(drained)
		for sc.Scan() {
		}
	}()
	<-drained
	if err := cmd.Wait(); err != nil {
		t.Fatalf("worker after SIGTERM: %v\n%s", err, log.String())
	}
}
