package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestWorkersShareAndTakeOverTasks: a node's worker and a standalone
// worker share a sink connector's two tasks; when the standalone worker is
// SIGKILLed its task moves to the node within the session timeout, and
// after a sink plugin is killed mid-write every record still reaches the
// output at least once.
func TestWorkersShareAndTakeOverTasks(t *testing.T) {
	const session = 3 * time.Second
	root := t.TempDir()
	n := startNode(t, filepath.Join(root, "data"), "", "", "worker:\n  session_timeout: 3s\n")
	w2 := startProc(t, "worker", "worker", "--bootstrap", n.kafka, "--plugin-dir", plugins, "--worker-id", "w2",
		"--session-timeout", session.String())
	if out, code := n.cli(t, "topic", "create", "in", "--partitions", "2"); code != 0 {
		t.Fatalf("topic create: %s", out)
	}
	outDir := filepath.Join(root, "out")
	if code := n.call(t, "POST", "/connectors", map[string]any{"name": "files", "config": map[string]string{
		"plugin": "file", "type": "sink", "topics": "in", "tasks.max": "2", "dir": outDir,
	}}, nil); code != 201 {
		t.Fatalf("create sink connector: %d", code)
	}
	workersOf := func() map[string]int {
		var st taskStatus
		n.call(t, "GET", "/connectors/files/status", nil, &st)
		out := map[string]int{}
		for _, task := range st.Tasks {
			if task.State == "running" {
				out[task.Worker]++
			}
		}
		return out
	}
	waitFor(t, 30*time.Second, "the two tasks running on two workers", func() bool {
		w := workersOf()
		return w["node-1"] == 1 && w["w2"] == 1
	})

	cl, err := kgo.NewClient(kgo.SeedBrokers(n.kafka), kgo.DefaultProduceTopic("in"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	produce := func(from, to int) {
		var recs []*kgo.Record
		for i := from; i < to; i++ {
			recs = append(recs, &kgo.Record{Key: []byte(fmt.Sprint(i)), Value: []byte(fmt.Sprintf("rec-%05d", i))})
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	produce(0, 2000)

	w2.kill()
	killed := time.Now()
	waitFor(t, session+20*time.Second, "both tasks running on node-1", func() bool {
		return workersOf()["node-1"] == 2
	})
	moved := time.Since(killed)
	t.Logf("tasks moved %s after the worker was killed (session timeout %s)", moved.Round(100*time.Millisecond), session)
	// The coordinator notices the death when the session times out; the
	// rest is one rebalance and the task's start.
	if moved > 2*session {
		t.Errorf("tasks moved %s after the kill, want within the session timeout (%s) plus a rebalance", moved, session)
	}

	// Kill the sink plugins at random moments while records keep coming
	// and the sinks keep writing.
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	const total = 10000
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		for from := 2000; from < total; from += 1000 {
			produce(from, from+1000)
			time.Sleep(150 * time.Millisecond) // pace the writes over several kills
		}
	}()
	sinkKills := 0
	for done := false; !done; {
		select {
		case <-produced:
			done = true
		case <-time.After(time.Duration(100+rng.IntN(200)) * time.Millisecond):
			for _, pid := range pluginPIDs() {
				if syscall.Kill(pid, syscall.SIGKILL) == nil {
					sinkKills++
				}
			}
		}
	}
	if sinkKills == 0 {
		t.Fatal("no sink plugin process found to kill")
	}
	var lines, missing int
	waitFor(t, 60*time.Second, "every record in the sink's files", func() bool {
		seen := map[string]bool{}
		lines = 0
		files, _ := filepath.Glob(filepath.Join(outDir, "*"))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			for _, l := range strings.SplitAfter(string(data), "\n") {
				if strings.HasSuffix(l, "\n") { // a torn last line does not count
					seen[strings.TrimSuffix(l, "\n")] = true
					lines++
				}
			}
		}
		missing = 0
		for i := range total {
			if !seen[fmt.Sprintf("rec-%05d", i)] {
				missing++
			}
		}
		return missing == 0
	})
	t.Logf("%d sink plugin kills; %d records in the output as %d lines (%d written again after a kill)", sinkKills, total, lines, lines-total)
}
