package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tributary-io/tributary/connectors/postgres/internal/cdccheck"
	"github.com/tributary-io/tributary/connectors/postgres/internal/pgtest"
	"github.com/tributary-io/tributary/plugins"
	"github.com/tributary-io/tributary/sdk"
)

// TestCrashResume kills the plugin process with SIGKILL at random moments,
// during the snapshot (at random rows of it) and while streaming (after
// random gaps once the first change streamed), as a writer keeps changing
// the table. The test commits what it reads right away, as a worker's
// transaction would, and commits nothing of a failed read. Afterwards the
// committed events replay to the table's rows, no change came twice, every
// change after the snapshot came, and the slot's confirmed LSN advanced.
func TestCrashResume(t *testing.T) {
	const rows, streamKills, snapshotKills = 30_000, 5, 3
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 11))
	// Kills aimed at the snapshot, at random rows of it.
	var aims []int
	for i := 0; i < snapshotKills; i++ {
		aims = append(aims, rng.IntN(rows))
	}
	slices.Sort(aims)
	srv := pg.Server(t)
	db := srv.NewDatabase(t)
	admin := srv.Connect(t, db)
	if err := cdccheck.CreateTable(context.Background(), admin, "big", rows); err != nil {
		t.Fatal(err)
	}
	w := cdccheck.StartWriter(srv.Connect(t, db), "big", rows, seed, 2*time.Millisecond)
	defer w.Stop()
	cfg := sourceConfig(srv, db, map[string]string{"snapshot.fetch.size": "200", "heartbeat.interval": "300ms"})
	src := openSource(t, registry(t), cfg)
	start := confirmedLSN(t, admin, cfg["slot.name"])

	pid := func() int { return src.Stats().PID }
	// snapK kills when aimed at a snapshot row; streamK, started with the
	// stream, after each of its random gaps.
	snapK := startKiller(seed, 0, 0, 0, pid)
	defer snapK.halt()
	var streamK *killer
	defer func() {
		if streamK != nil {
			streamK.halt()
		}
	}()
	kills := func() int {
		n := int(snapK.kills.Load())
		if streamK != nil {
			n += int(streamK.kills.Load())
		}
		return n
	}
	c := cdccheck.NewChecker("pg.public.big")
	streamFrom := int64(-1) // the writer's sequence when streaming began
	failures, snapshotFailures, beats := 0, 0, 0
	deadline := time.Now().Add(4 * time.Minute)
	for !(streamK != nil && streamK.finished() && src.Stats().Restarts >= kills() && c.Counts["u"] >= 300) {
		if time.Now().After(deadline) {
			t.Fatalf("after %d kills, %d restarts: events %v", kills(), src.Stats().Restarts, c.Counts)
		}
		recs, err := readCommit(src)
		if errors.Is(err, plugins.ErrPluginFailed) {
			failures++
			if streamFrom < 0 {
				snapshotFailures++
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if err := c.Add(r); err != nil {
				t.Fatal(err)
			}
			if r.Topic == "pg.heartbeat" {
				beats++
			}
			if streamFrom < 0 && r.Topic == c.Topic && r.Value != nil && op(t, r) != "r" {
				streamFrom = w.Seq()
				streamK = startKiller(seed+1, streamKills, 200*time.Millisecond, 1500*time.Millisecond, pid)
			}
		}
		if len(aims) > 0 && c.Counts["r"] >= aims[0] && streamFrom < 0 {
			aims = aims[1:]
			snapK.aim()
		}
	}
	killed := snapK.halt() + streamK.halt()
	if err := w.Stop(); err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, admin, "INSERT INTO big VALUES (-1, 0, 'end')")
	drainUntil(t, src, c, -1)
	if err := c.VerifyTable(admin, "big"); err != nil {
		t.Fatal(err)
	}
	if err := c.VerifyOps(w.Ops(), streamFrom); err != nil {
		t.Fatal(err)
	}
	if snapshotFailures < 1 || failures-snapshotFailures < streamKills/2 {
		t.Errorf("kills hit %d reads during the snapshot and %d while streaming", snapshotFailures, failures-snapshotFailures)
	}
	deadline = time.Now().Add(30 * time.Second)
	for confirmedLSN(t, admin, cfg["slot.name"]) <= start {
		if time.Now().After(deadline) {
			t.Fatalf("the slot's confirmed LSN stayed at %d", start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("%d kills (%d failed reads, %d during the snapshot), %d restarts; events %v, %d tombstones, %d heartbeats; slot confirmed %d -> %d",
		killed, failures, snapshotFailures, src.Stats().Restarts, c.Counts, c.Tombstones, beats, start, confirmedLSN(t, admin, cfg["slot.name"]))
}

// readCommit reads a batch and commits it, as a worker's transaction
// would; a failed read commits nothing.
func readCommit(src *plugins.Source) ([]sdk.Record, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	recs, err := src.Read(ctx, 2000)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, nil
		}
		return nil, err
	}
	if len(recs) == 0 {
		return nil, nil
	}
	return recs, src.Commit(context.Background(), positions(recs))
}

// drainUntil reads, commits and checks until the create of row id.
func drainUntil(t testing.TB, src *plugins.Source, c *cdccheck.Checker, id int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		recs, err := readCommit(src)
		if errors.Is(err, plugins.ErrPluginFailed) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if err := c.Add(r); err != nil {
				t.Fatal(err)
			}
			if r.Topic == c.Topic && r.Value != nil && op(t, r) == "c" && afterID(t, r) == id {
				return
			}
		}
	}
	t.Fatalf("row %d never arrived", id)
}

func op(t testing.TB, r sdk.Record) string {
	var ev struct{ Op string }
	if err := json.Unmarshal(r.Value, &ev); err != nil {
		t.Fatal(err)
	}
	return ev.Op
}

func afterID(t testing.TB, r sdk.Record) int {
	var ev struct{ After struct{ ID int } }
	if err := json.Unmarshal(r.Value, &ev); err != nil {
		t.Fatal(err)
	}
	return ev.After.ID
}

// confirmedLSN returns the slot's confirmed_flush_lsn as a number.
func confirmedLSN(t testing.TB, conn *pgconn.PgConn, slot string) uint64 {
	t.Helper()
	got := pgtest.QueryValue(t, conn, "SELECT (confirmed_flush_lsn - '0/0'::pg_lsn)::text FROM pg_replication_slots WHERE slot_name = $1", slot)
	n, err := strconv.ParseUint(got, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
