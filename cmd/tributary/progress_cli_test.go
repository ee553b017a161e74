package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestCLIProgress runs the long commands against a real server and checks
// their progress goes to stderr only: with --progress always off a
// terminal as lines, not at all by default off a terminal, and as a bar
// redrawn in place on a real terminal (a pseudo-terminal from script(1)),
// while stdout stays valid JSON with --output json in every case.
func TestCLIProgress(t *testing.T) {
	s := startServer(t, t.TempDir())
	s.mustCLI(t, nil, "topic", "create", "orders", "--partitions", "2")
	s.mustCLI(t, strings.NewReader(strings.Repeat("order\n", 10)), "produce", "--topic", "orders", "--partition", "0")
	s.mustCLI(t, nil, "consume", "--topic", "orders", "--group", "billing", "--from-beginning", "--max-messages", "4", "--timeout", "10s")

	resetJSON := func(t *testing.T, out string) {
		t.Helper()
		var res struct {
			Group      string        `json:"group"`
			Partitions []offsetReset `json:"partitions"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil || res.Group != "billing" || len(res.Partitions) != 2 {
			t.Fatalf("reset-offsets stdout is not the JSON result (%v):\n%q", err, out)
		}
	}
	reset := []string{"group", "reset-offsets", "billing", "--topic", "orders", "--to-earliest", "--output", "json"}

	t.Run("reset-offsets lines when asked", func(t *testing.T) {
		r := s.cli(t, nil, append(reset, "--progress", "always")...)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		resetJSON(t, r.stdout)
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if !strings.HasPrefix(lines[0], "reset-offsets billing 0/6") || lines[len(lines)-1] != "reset-offsets billing 6/6 100%  done" {
			t.Errorf("progress lines:\n%s", r.stderr)
		}
	})
	t.Run("reset-offsets silent off a terminal by default", func(t *testing.T) {
		r := s.cli(t, nil, reset...)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("exit %d, stderr %q: want 0 and nothing on stderr", r.code, r.stderr)
		}
		resetJSON(t, r.stdout)
	})
	t.Run("reset-offsets bar on a terminal", func(t *testing.T) {
		script, err := exec.LookPath("script")
		if err != nil {
			t.Fatalf("script(1) (util-linux, essential on Debian) is needed for a terminal: %v", err)
		}
		out := filepath.Join(t.TempDir(), "out.json")
		cmd := fmt.Sprintf("%s %s --bootstrap %s > %s", binPath, strings.Join(reset, " "), s.kafka, out)
		r := runProgram(t, nil, script, "-qefc", cmd, "/dev/null")
		if r.code != 0 {
			t.Fatalf("script exit %d\nstdout %q\nstderr %q", r.code, r.stdout, r.stderr)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		resetJSON(t, string(data))
		if !strings.Contains(r.stdout, "\r\033[Kreset-offsets billing [") ||
			!strings.Contains(r.stdout, "[==============================] 6/6 100%  done") {
			t.Errorf("terminal got %q: want a bar redrawn in place ending full", r.stdout)
		}
	})

	t.Run("apply", func(t *testing.T) {
		dir := t.TempDir()
		manifest := `apiVersion: tributary.io/v1
kind: Topic
metadata: {name: audit}
spec: {partitions: 1}
---
apiVersion: tributary.io/v1
kind: Topic
metadata: {name: audit-dlq}
spec: {partitions: 1}
`
		if err := os.WriteFile(filepath.Join(dir, "topics.yaml"), []byte(manifest), 0o644); err != nil {
			t.Fatal(err)
		}
		r := s.cli(t, nil, "apply", "-f", dir, "--progress", "always", "--server", "http://"+s.http)
		if r.code != 0 {
			t.Fatalf("apply: exit %d\n%s", r.code, r.stderr)
		}
		if !strings.Contains(r.stdout, "+ topic/audit created") || strings.Contains(r.stdout, "apply ") {
			t.Errorf("apply stdout %q: want the results only", r.stdout)
		}
		if !strings.Contains(r.stderr, "apply 0/2") || !strings.HasSuffix(r.stderr, "apply 2/2 100%\n") {
			t.Errorf("apply progress %q", r.stderr)
		}
	})

	t.Run("connector snapshot", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cl, err := kgo.NewClient(kgo.SeedBrokers(s.kafka))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, "__tributary_offsets"); err != nil {
			t.Fatal(err)
		}
		// A position as the PostgreSQL source commits it, half-way through
		// the second of three tables.
		writePos := func(pos string) {
			t.Helper()
			v, _ := json.Marshal(map[string][]byte{"position": []byte(pos)})
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "__tributary_offsets", Key: []byte("pg-0"), Value: v}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if r := s.cli(t, nil, "connector", "snapshot", "pg", "--no-wait", "--output", "json"); r.code != 0 ||
			!strings.Contains(r.stdout, `"started": false`) {
			t.Fatalf("before any position: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		writePos(`{"v":1,"r":5,"s":{"t":[["public","a"],["public","b"],["public","c"]],"a":[{"l":5}],"i":1,"k":["7"]}}`)
		var st snapshotState
		r := s.cli(t, nil, "connector", "snapshot", "pg", "--no-wait", "--output", "json")
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &st) != nil || st.TablesRead != 1 || st.Tables != 3 || st.Table != "public.b" || st.Done {
			t.Fatalf("mid-snapshot: exit %d %+v\n%s\n%s", r.code, st, r.stdout, r.stderr)
		}
		// Following it: the line shows 1/3 until the task commits a done
		// position, then the command ends.
		follow := exec.CommandContext(ctx, binPath, "connector", "snapshot", "pg", "--bootstrap", s.kafka,
			"--progress", "always", "--interval", "200ms", "--timeout", "30s")
		var stdout strings.Builder
		follow.Stdout = &stdout
		stderrPipe, err := follow.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := follow.Start(); err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		sc := bufio.NewScanner(stderrPipe)
		for sc.Scan() { // bounded by ctx, which kills the process
			stderr.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "1/3") {
				break
			}
		}
		writePos(`{"v":1,"r":9,"s":{"t":[["public","a"],["public","b"],["public","c"]],"a":[{"l":5}],"i":2,"d":true}}`)
		for sc.Scan() {
			stderr.WriteString(sc.Text() + "\n")
		}
		if err := follow.Wait(); err != nil || !strings.Contains(stdout.String(), "pg task 0: snapshot done (3 tables)") {
			t.Fatalf("follow: %v\nstdout %s\nstderr %s", err, stdout.String(), stderr.String())
		}
		r = result{stderr: stderr.String()}
		if !strings.Contains(r.stderr, "snapshot pg 1/3 tables  33%  public.b") || !strings.HasSuffix(r.stderr, "snapshot pg 3/3 tables 100%\n") {
			t.Errorf("follow progress:\n%s", r.stderr)
		}
	})
}
