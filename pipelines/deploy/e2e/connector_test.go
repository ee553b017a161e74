package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInvalidConnectorRejected: every problem is listed (field, value,
// reason) and nothing is created.
func TestInvalidConnectorRejected(t *testing.T) {
	n := startNode(t, t.TempDir(), "", "", "")
	var resp struct {
		Code     int `json:"error_code"`
		Problems []struct {
			Field, Value, Reason string
		} `json:"problems"`
	}
	code := n.call(t, "POST", "/connectors", map[string]any{"name": "bad", "config": map[string]string{
		"plugin": "file", "type": "source", "topic": "t", "tasks.max": "two",
		"errors.tolerance": "some", "start": "middle", "poll.interval": "soon", "no.such.field": "x",
	}}, &resp)
	if code != 400 {
		t.Fatalf("POST invalid connector: %d, want 400", code)
	}
	want := map[string]string{"tasks.max": "two", "errors.tolerance": "some", "start": "middle",
		"poll.interval": "soon", "no.such.field": "x", "paths": ""}
	got := map[string]string{}
	for _, p := range resp.Problems {
		if p.Reason == "" {
			t.Errorf("problem of %s has no reason", p.Field)
		}
		got[p.Field] = p.Value
	}
	for f, v := range want {
		if gv, ok := got[f]; !ok || gv != v {
			t.Errorf("problem of field %s: got value %q (listed %v), want %q", f, gv, ok, v)
		}
	}
	if len(resp.Problems) != len(want) {
		t.Errorf("got %d problems %+v, want %d", len(resp.Problems), resp.Problems, len(want))
	}
	var names []string
	n.call(t, "GET", "/connectors", nil, &names)
	if len(names) != 0 {
		t.Fatalf("connectors after a rejected create: %v", names)
	}
	// The CLI lists every problem too, and creates nothing.
	out, code := n.cli(t, "connector", "create", "bad", "plugin=file", "type=source", "topic=t", "tasks.max=two", "start=middle")
	for _, want := range []string{"tasks.max", "two", "start", "middle", "paths", "3 problems"} {
		if code == 0 || !strings.Contains(out, want) {
			t.Fatalf("connector create with a bad config: exit %d, output lacks %q:\n%s", code, want, out)
		}
	}
	if n.call(t, "GET", "/connectors", nil, &names); len(names) != 0 {
		t.Fatalf("connectors after a rejected CLI create: %v", names)
	}
	out, code = n.cli(t, "connector", "validate", "file", "type=sink", "topics=a")
	if code == 0 || !strings.Contains(out, "dir") {
		t.Fatalf("connector validate: exit %d, output:\n%s", code, out)
	}
}

// TestSourceExactlyOnceUnderKills is issue 7's log collection: a writer
// appends to a directory, rotates by rename and truncates; the plugin is
// SIGKILLed at random moments and the node once; the topic then holds
// every line exactly once, in file order.
func TestSourceExactlyOnceUnderKills(t *testing.T) {
	root := t.TempDir()
	logDir, dataDir := filepath.Join(root, "logs"), filepath.Join(root, "data")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	n := startNode(t, dataDir, "", "", "")
	out, code := n.cli(t, "topic", "create", "collected", "--partitions", "1")
	if code != 0 {
		t.Fatalf("topic create: %s", out)
	}
	if code := n.call(t, "POST", "/connectors", map[string]any{"name": "tail", "config": map[string]string{
		"plugin": "file", "type": "source", "topic": "collected", "paths": logDir + "/app.log*", "poll.interval": "20ms",
	}}, nil); code != 201 {
		t.Fatalf("create connector: %d", code)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	live := filepath.Join(logDir, "app.log")
	var written []string
	gen := map[string]int{} // line -> the file generation it was written to
	generation := 0
	line := 0
	kills, rotations, truncations := 0, 0, 0
	write := func(k int) {
		var b strings.Builder
		for range k {
			line++
			fmt.Fprintf(&b, "line-%06d\n", line)
			written = append(written, fmt.Sprintf("line-%06d", line))
			gen[written[len(written)-1]] = generation
		}
		f, err := os.OpenFile(live, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(b.String()); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	caughtUp := func() {
		waitFor(t, 60*time.Second, fmt.Sprintf("%d lines in the topic", len(written)), func() bool {
			return len(readAll(t, n.kafka, "collected")) >= len(written)
		})
	}
	for round := range 12 {
		for range 5 {
			write(1 + rng.IntN(200))
			if rng.IntN(3) == 0 {
				for _, pid := range pluginPIDs() {
					if syscall.Kill(pid, syscall.SIGKILL) == nil {
						kills++
					}
				}
			}
			time.Sleep(time.Duration(rng.IntN(60)) * time.Millisecond) // let the writer and the plugin interleave
		}
		switch round % 4 {
		case 1: // rotation by rename: the old file keeps its unread tail
			if err := os.Rename(live, fmt.Sprintf("%s.%d", live, round)); err != nil {
				t.Fatal(err)
			}
			rotations++
			generation++
		case 3: // truncation: only once everything written was read
			caughtUp()
			if err := os.Truncate(live, 0); err != nil {
				t.Fatal(err)
			}
			truncations++
			generation++
		}
		if round == 6 { // the node itself dies and comes back
			n.proc.kill()
			// No orphans: the node's plugin processes exit with it.
			waitFor(t, 10*time.Second, "the killed node's plugin processes to exit", func() bool { return len(pluginPIDs()) == 0 })
			n = startNode(t, dataDir, n.kafka, n.api, "")
		}
	}
	caughtUp()
	got := strs(readAll(t, n.kafka, "collected"))
	if len(got) != len(written) {
		t.Errorf("topic has %d records, %d lines were written", len(got), len(written))
	}
	seen := map[string]int{}
	for _, g := range got {
		seen[g]++
	}
	dups, missing := 0, 0
	for _, w := range written {
		switch seen[w] {
		case 0:
			missing++
		case 1:
		default:
			dups++
		}
	}
	if dups > 0 || missing > 0 {
		t.Errorf("%d lines missing, %d duplicated; first records %q", missing, dups, got[:min(5, len(got))])
	}
	// File order: the lines of one file (a generation between rotations
	// and truncations) appear in the order they were written. Across a
	// rename the plugin may read the new file before the old file's tail.
	last := map[int]string{}
	crossFile := 0
	for i, g := range got {
		if prev, ok := last[gen[g]]; ok && g < prev {
			t.Fatalf("record %d is %q after %q of the same file: lines must keep file order", i, g, prev)
		}
		last[gen[g]] = g
		if i < len(written) && g != written[i] {
			crossFile++
		}
	}
	t.Logf("%d lines, %d plugin kills, %d rotations, %d truncations, 1 node restart; %d records out of global write order (across files only)",
		len(written), kills, rotations, truncations, crossFile)
	if kills == 0 {
		t.Fatal("no plugin process was killed; the test proved nothing")
	}
}
