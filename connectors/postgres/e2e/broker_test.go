package e2e

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/connectors/postgres/internal/cdccheck"
	"github.com/tributary-io/tributary/connectors/postgres/internal/pgtest"
	"github.com/tributary-io/tributary/platform/nodetest"
	"github.com/tributary-io/tributary/sdk"
)

// node is a `tributary serve` process: broker, REST API and a worker that
// runs connector tasks with the plugins of pluginDir.
type node struct {
	n          *nodetest.Node
	kafka, api string
}

func loopbackAddr(t testing.TB) string { return nodetest.FreeAddr(t) }

// startNode starts serve on dataDir (kept across restarts) with the Kafka
// listener kafka and the REST API api, and waits until it is ready.
func startNode(t testing.TB, dataDir, kafka, api string) *node {
	t.Helper()
	n := bin.StartNode(t, nodetest.DataDir(dataDir), nodetest.Ports(kafka, api),
		nodetest.Flags("--plugin-dir", pluginDir, "--groups-min-session-timeout", "1s",
			"--worker-session-timeout", "2s", "--shutdown-timeout", "5s", "--log-level", "warn"))
	return &node{n: n, kafka: kafka, api: api}
}

// kill SIGKILLs the node (its worker's plugins exit with it) and waits.
func (n *node) kill() { n.n.Kill() }

// pluginPIDs returns the running postgres plugin processes.
func pluginPIDs() []int { return bin.PluginPIDs("postgres") }

// TestThroughTheBroker runs the CDC connector as the server does: a
// worker runs the source task, which writes each batch of records and its
// position in one Kafka transaction. A table of 50,000 rows is snapshotted
// and then streamed while a writer inserts, updates and deletes; the plugin
// process and the whole node (broker and worker) are SIGKILLed at random
// moments, half of each kind during the snapshot (at random rows of it)
// and half while streaming. Reading the topic with read_committed, no
// change is missing or repeated, the replayed rows equal SELECT, and the
// slot's confirmed LSN advanced.
func TestThroughTheBroker(t *testing.T) {
	const rows, pluginKills, nodeKills = 50_000, 4, 2
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
	createConnector(t, n.api, "cdc", cfg)

	// A snapshot kill is due once row snapshot rows (row in the first half
	// of the table) are readable, or the stream began; a stream kill, at
	// after the first streamed change.
	type kill struct {
		node bool
		row  int
		at   time.Duration
	}
	var snapKills, streamKills []kill
	for i := 0; i < pluginKills+nodeKills; i++ {
		k := kill{node: i < nodeKills, row: rng.IntN(rows / 2), at: time.Duration(rng.Int64N(int64(10 * time.Second)))}
		if i%2 == 0 {
			snapKills = append(snapKills, k)
		} else {
			streamKills = append(streamKills, k)
		}
	}
	slices.SortFunc(snapKills, func(a, b kill) int { return cmp.Compare(a.row, b.row) })
	slices.SortFunc(streamKills, func(a, b kill) int { return cmp.Compare(a.at, b.at) })
	// doKill kills the node, or every running plugin process; false when
	// no plugin process runs at the moment (it is restarting).
	doKill := func(k kill) bool {
		if k.node {
			n.kill()
			n = startNode(t, dataDir, n.kafka, n.api)
			return true
		}
		killed := false
		for _, pid := range pluginPIDs() {
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				killed = true
			}
		}
		return killed
	}
	// done counts kills by kind (node or plugin) and by the phase the topic
	// showed (snapshot or stream).
	type kindPhase struct{ node, snapshot bool }
	done := map[kindPhase]int{}
	start := time.Now()
	var streamStart time.Time
	c := cdccheck.NewChecker("pg.public.big")
	streamFrom := int64(-1)
	var firstConfirmed uint64
	stopped, sawEnd := false, false
	deadline := start.Add(4 * time.Minute)
	for !sawEnd {
		if time.Now().After(deadline) {
			t.Fatalf("events %v after %v; kills done %v, left %d+%d; stopped %v", c.Counts, time.Since(start), done, len(snapKills), len(streamKills), stopped)
		}
		if len(snapKills) > 0 && (c.Counts["r"] >= snapKills[0].row || streamFrom >= 0) && doKill(snapKills[0]) {
			done[kindPhase{snapKills[0].node, streamFrom < 0}]++
			snapKills = snapKills[1:]
		}
		if len(snapKills) == 0 && len(streamKills) > 0 && streamFrom >= 0 && time.Since(streamStart) >= streamKills[0].at && doKill(streamKills[0]) {
			done[kindPhase{streamKills[0].node, false}]++
			streamKills = streamKills[1:]
		}
		if !stopped && len(snapKills)+len(streamKills) == 0 && streamFrom >= 0 && c.Counts["u"] >= 300 {
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
					streamStart = time.Now()
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
	if c.Counts["r"] < rows/2 { // the writer deletes rows as the snapshot goes
		t.Errorf("%d snapshot rows of %d", c.Counts["r"], rows)
	}
	nodes := done[kindPhase{true, true}] + done[kindPhase{true, false}]
	pluginsKilled := done[kindPhase{false, true}] + done[kindPhase{false, false}]
	snapshot := done[kindPhase{true, true}] + done[kindPhase{false, true}]
	if nodes != nodeKills || pluginsKilled != pluginKills || snapshot == 0 || snapshot == nodes+pluginsKilled {
		t.Errorf("kills done: %d of the node, %d of the plugin, %d during the snapshot; want %d, %d, some in each phase",
			nodes, pluginsKilled, snapshot, nodeKills, pluginKills)
	}
	t.Logf("%d node kills, %d plugin kills (%d during the snapshot) in %v; events %v, %d tombstones; slot confirmed %d -> %d",
		nodes, pluginsKilled, snapshot, time.Since(start).Round(time.Millisecond), c.Counts, c.Tombstones,
		firstConfirmed, confirmedLSN(t, admin, cfg["slot.name"]))
}

// createConnector creates connector name with cfg through the REST API at
// api.
func createConnector(t testing.TB, api, name string, cfg map[string]string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"name": name, "config": cfg})
	resp, err := http.Post("http://"+api+"/connectors", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create connector %s: %s", name, resp.Status)
	}
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
