package e2e

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/connectors/postgres/internal/cdccheck"
	"github.com/tributary-io/tributary/connectors/postgres/internal/pgtest"
	"github.com/tributary-io/tributary/sdk"
)

// node is a `tributary serve` process: broker, REST API and a worker that
// runs connector tasks with the plugins of pluginDir.
type node struct {
	cmd        *exec.Cmd
	done       chan struct{}
	out        *lockedBuffer
	kafka, api string
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := strings.Split(l.b.String(), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func loopbackAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startNode starts serve on dataDir (kept across restarts) and waits until
// it is ready.
func startNode(t testing.TB, dataDir, kafka, api string) *node {
	t.Helper()
	n := &node{out: &lockedBuffer{}, done: make(chan struct{}), kafka: kafka, api: api}
	n.cmd = exec.Command(tributary, "serve", "--data-dir", dataDir, "--listeners", kafka, "--http-addr", api,
		"--plugin-dir", pluginDir, "--groups-initial-rebalance-delay", "0s", "--groups-min-session-timeout", "1s",
		"--worker-session-timeout", "2s", "--shutdown-timeout", "5s", "--log-level", "warn")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TRIBUTARY_") {
			n.cmd.Env = append(n.cmd.Env, kv)
		}
	}
	n.cmd.Stdout, n.cmd.Stderr = n.out, n.out
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = n.cmd.Wait(); close(n.done) }()
	t.Cleanup(func() {
		n.kill()
		if t.Failed() {
			t.Logf("serve output (tail):\n%s", n.out.tail(40))
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + api + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return n
			}
		}
		select {
		case <-n.done:
			t.Fatalf("serve exited while starting:\n%s", n.out.tail(40))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready in time:\n%s", n.out.tail(40))
		}
	}
}

// kill SIGKILLs the node (its worker's plugins exit with it) and waits.
func (n *node) kill() {
	select {
	case <-n.done:
	default:
		_ = n.cmd.Process.Signal(syscall.SIGKILL)
		<-n.done
	}
}

// pluginPIDs returns the running postgres plugin processes.
func pluginPIDs() []int {
	want := filepath.Join(pluginDir, "postgres")
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && exe == want {
			out = append(out, pid)
		}
	}
	return out
}

// TestThroughTheBroker runs the CDC connector as the server does: a
// worker runs the source task, which writes each batch of records and its
// position in one Kafka transaction. The plugin process and the whole node
// (broker and worker) are SIGKILLed at random moments while a writer
// changes the table. Reading the topic with read_committed, no change is
// missing or repeated, the replayed rows equal SELECT, and the slot's
// confirmed LSN advanced.
func TestThroughTheBroker(t *testing.T) {
	const rows, pluginKills, nodeKills = 10_000, 4, 2
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 13))
	srv := pg.Server(t)
	db := srv.NewDatabase(t)
	admin := srv.Connect(t, db)
	if err := cdccheck.CreateTable(context.Background(), admin, "big", rows); err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	n := startNode(t, dataDir, loopbackAddr(t), loopbackAddr(t))
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.kafka), kgo.ConsumeTopics("pg.public.big"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	_, err = kadm.NewClient(cl).CreateTopics(ctx, 1, 1, nil, "pg.public.big", "pg.heartbeat", "pg.unused")
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	w := cdccheck.StartWriter(srv.Connect(t, db), "big", rows, seed, 3*time.Millisecond)
	defer w.Stop()
	cfg := sourceConfig(srv, db, map[string]string{"snapshot.fetch.size": "500", "heartbeat.interval": "500ms", "status.interval": "200ms"})
	cfg["plugin"], cfg["type"], cfg["topic"] = "postgres", "source", "pg.unused"
	body, _ := json.Marshal(map[string]any{"name": "cdc", "config": cfg})
	resp, err := http.Post("http://"+n.api+"/connectors", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create connector: %s", resp.Status)
	}

	// Kills at random moments of the first 20 seconds.
	type kill struct {
		at   time.Duration
		node bool
	}
	var kills []kill
	for i := 0; i < pluginKills+nodeKills; i++ {
		kills = append(kills, kill{at: time.Duration(rng.Int64N(int64(20 * time.Second))), node: i < nodeKills})
	}
	slices.SortFunc(kills, func(a, b kill) int { return cmp.Compare(a.at, b.at) })
	start := time.Now()
	c := cdccheck.NewChecker("pg.public.big")
	streamFrom := int64(-1)
	var firstConfirmed uint64
	doneKills := map[bool]int{}
	stopped, sawEnd := false, false
	deadline := start.Add(4 * time.Minute)
	for !sawEnd {
		if time.Now().After(deadline) {
			t.Fatalf("events %v after %v; kills %v; stopped %v", c.Counts, time.Since(start), doneKills, stopped)
		}
		for len(kills) > 0 && time.Since(start) >= kills[0].at {
			if kills[0].node {
				n.kill()
				n = startNode(t, dataDir, n.kafka, n.api)
				doneKills[true]++
			} else {
				for _, pid := range pluginPIDs() {
					if syscall.Kill(pid, syscall.SIGKILL) == nil {
						doneKills[false]++
					}
				}
			}
			kills = kills[1:]
		}
		if !stopped && len(kills) == 0 && streamFrom >= 0 && c.Counts["u"] >= 300 {
			if err := w.Stop(); err != nil {
				t.Fatal(err)
			}
			pgtest.Exec(t, admin, "INSERT INTO big VALUES (-1, 0, 'end')")
			stopped = true
		}
		pctx, pcancel := context.WithTimeout(context.Background(), time.Second)
		fs := cl.PollFetches(pctx)
		pcancel()
		fs.EachRecord(func(r *kgo.Record) {
			rec := sdk.Record{Topic: r.Topic, Key: r.Key, Value: r.Value}
			if err := c.Add(rec); err != nil {
				t.Fatalf("offset %d: %v", r.Offset, err)
			}
			if r.Value == nil {
				return
			}
			switch op(t, rec) {
			case "r":
			case "c":
				if afterID(t, rec) == -1 {
					sawEnd = true
				}
				fallthrough
			default:
				if streamFrom < 0 {
					streamFrom = w.Seq()
					firstConfirmed = confirmedLSN(t, admin, cfg["slot.name"])
				}
			}
		})
	}
	if err := c.VerifyTable(admin, "big"); err != nil {
		t.Fatal(err)
	}
	if err := c.VerifyOps(w.Ops(), streamFrom); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "the slot's confirmed LSN to advance", func() bool {
		return confirmedLSN(t, admin, cfg["slot.name"]) > firstConfirmed
	})
	t.Logf("%d node kills, %d plugin kills in %v; events %v, %d tombstones; slot confirmed %d -> %d",
		doneKills[true], doneKills[false], time.Since(start).Round(time.Millisecond), c.Counts, c.Tombstones,
		firstConfirmed, confirmedLSN(t, admin, cfg["slot.name"]))
}

func waitUntil(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
