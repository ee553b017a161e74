package main

import (
	"context"
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
// step does, and checks that `kcat -L` answers, that every command of README's
// first five minutes (kcat and the tributary CLI) works and prints what the
// README shows, and that Ctrl-C (SIGINT to the foreground process group) stops
// the node gracefully. Only what must not collide with other tests on this machine
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

	// README's first five minutes, command by command, against this node;
	// the CLI finds it through TRIBUTARY_BOOTSTRAP instead of its default.
	runReadme(t, filepath.Join(root, "README.md"), "TRIBUTARY_BOOTSTRAP="+kafka, strings.NewReplacer(
		"localhost:9092", kafka, "localhost:8080", httpAddr, "./bin/tributary", filepath.Join(tmp, "bin", "tributary")))

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

// readmeCommand is one shell command of README's first five minutes and the
// output lines the README shows for it (comment lines right below it).
type readmeCommand struct {
	line string
	want []string
}

// readmeCommands parses the sh blocks of README's "The first five minutes"
// section up to its first subsection, but for `make run`, which the caller runs itself. A comment line
// directly below a command is output it shows; one after a blank line is prose.
func readmeCommands(t *testing.T, path string) []readmeCommand {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## The first five minutes\n")
	if !ok {
		t.Fatalf("%s has no section \"The first five minutes\"", path)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	section, _, _ = strings.Cut(section, "\n### ") // the pipeline and configuration tours are tested elsewhere
	var cmds []readmeCommand
	inBlock, afterCommand, continued := false, false, false
	for _, line := range strings.Split(section, "\n") {
		switch {
		case strings.HasPrefix(line, "```"):
			inBlock = line == "```sh"
			afterCommand, continued = false, false
		case !inBlock:
		case strings.TrimSpace(line) == "":
			afterCommand = false
		case strings.HasPrefix(line, "#"):
			if afterCommand {
				c := &cmds[len(cmds)-1]
				c.want = append(c.want, strings.TrimPrefix(line, "# "))
			}
		case continued:
			cmds[len(cmds)-1].line += "\n" + line
			continued = strings.HasSuffix(line, "|") || strings.HasSuffix(line, "\\")
		case strings.TrimSpace(line) == "make run":
		default:
			cmds = append(cmds, readmeCommand{line: line})
			afterCommand = true
			continued = strings.HasSuffix(line, "|") || strings.HasSuffix(line, "\\")
		}
	}
	if len(cmds) < 10 {
		t.Fatalf("found %d commands in README's first five minutes: %+v", len(cmds), cmds)
	}
	return cmds
}

// topicIDPattern matches a topic id as the CLI prints it (22 base64url characters).
var topicIDPattern = regexp.MustCompile(`\b[A-Za-z0-9_-]{22}\b`)

// normalizeOutput masks topic ids and collapses runs of spaces, so README's
// example output compares with a run's.
func normalizeOutput(s string) string {
	return strings.Join(strings.Fields(topicIDPattern.ReplaceAllString(s, "<id>")), " ")
}

// runReadme runs README's first-five-minutes commands in order through bash,
// with addresses and paths replaced by the test's and env added to the
// environment, and checks each exits 0 and prints the output lines the README
// shows for it.
func runReadme(t *testing.T, readme, env string, subst *strings.Replacer) {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal(err)
	}
	cmds, checked := readmeCommands(t, readme), 0
	for _, c := range cmds {
		checked += len(c.want)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, bash, "-o", "pipefail", "-c", subst.Replace(c.line))
		cmd.Env = append(nodetest.Env(), env)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		cancel()
		if err != nil {
			t.Fatalf("README command %q: %v\nstdout:\n%s\nstderr:\n%s", c.line, err, stdout.String(), stderr.String())
		}
		got := map[string]bool{}
		for _, l := range strings.Split(stdout.String(), "\n") {
			got[normalizeOutput(l)] = true
		}
		for _, w := range c.want {
			if !got[normalizeOutput(subst.Replace(w))] {
				t.Fatalf("README command %q: output lacks %q\nstdout:\n%s", c.line, w, stdout.String())
			}
		}
	}
	t.Logf("ran %d README commands, %d output lines as shown", len(cmds), checked)
}
