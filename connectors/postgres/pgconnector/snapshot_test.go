package pgconnector

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connectors/postgres/internal/cdccheck"
	"github.com/tributary-io/tributary/connectors/postgres/internal/pgtest"
	"github.com/tributary-io/tributary/sdk"
	"github.com/tributary-io/tributary/sdk/sdktest"
)

// TestSnapshotThenStream snapshots a table of 50,000 rows while a writer
// inserts, updates and deletes, then streams; replaying the events gives
// the table's final state, no change is delivered twice and every change
// after the snapshot's LSN is delivered.
func TestSnapshotThenStream(t *testing.T) {
	t.Parallel()
	const rows = 50_000
	srv := pg.Server(t)
	db := srv.NewDatabase(t)
	admin := srv.Connect(t, db)
	if err := cdccheck.CreateTable(context.Background(), admin, "big", rows); err != nil {
		t.Fatal(err)
	}
	w := cdccheck.StartWriter(srv.Connect(t, db), "big", rows, uint64(time.Now().UnixNano()), time.Millisecond)
	defer w.Stop()
	cfg := sourceConfig(srv, db, map[string]string{"snapshot.fetch.size": "1000"})
	src := sdktest.OpenSource(t, target, cfg, nil)
	defer src.Close()
	afterOpen := w.Seq() // changes after this commit after the snapshot's LSN

	c := cdccheck.NewChecker("pg.public.big")
	var duringSnapshot int64
	streamed := 0
	start := time.Now()
	deadline := start.Add(3 * time.Minute)
	for streamed < 3000 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d streamed events after %v", streamed, time.Since(start))
		}
		for _, r := range read(t, src, 1000, time.Second) {
			if err := c.Add(r); err != nil {
				t.Fatal(err)
			}
			if r.Value != nil && decodeEvent(t, r).Op != "r" {
				if streamed == 0 {
					duringSnapshot = w.Seq() - afterOpen
					t.Logf("snapshot of %d rows read in %v while the writer made %d changes", c.Counts["r"], time.Since(start), duringSnapshot)
				}
				streamed++
			}
		}
	}
	if err := w.Stop(); err != nil {
		t.Fatal(err)
	}
	if duringSnapshot < 50 {
		t.Errorf("the writer made only %d changes while the snapshot was read", duringSnapshot)
	}
	// A last row marks the end: once it arrives, every change is in.
	pgtest.Exec(t, admin, "INSERT INTO big VALUES (-1, 0, 'end')")
	drainUntilRow(t, src, c, -1)
	if err := c.VerifyTable(admin, "big"); err != nil {
		t.Fatal(err)
	}
	if err := c.VerifyOps(w.Ops(), afterOpen); err != nil {
		t.Fatal(err)
	}
	if c.Counts["r"] < rows/2 {
		t.Errorf("%d snapshot rows", c.Counts["r"])
	}
	t.Logf("events %v, tombstones %d, rows %d", c.Counts, c.Tombstones, c.Rows())
}

// TestSnapshotResume interrupts the snapshot and the stream again and
// again, as a crashing plugin would: each time the source is closed after
// reading more than the host committed, and reopened at the last
// committed position. The committed events replay to the table, with no
// change twice and none missing.
func TestSnapshotResume(t *testing.T) {
	t.Parallel()
	const rows = 6000
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	srv := pg.Server(t)
	db := srv.NewDatabase(t)
	admin := srv.Connect(t, db)
	if err := cdccheck.CreateTable(context.Background(), admin, "r", rows); err != nil {
		t.Fatal(err)
	}
	w := cdccheck.StartWriter(srv.Connect(t, db), "r", rows, seed, 2*time.Millisecond)
	defer w.Stop()
	cfg := sourceConfig(srv, db, map[string]string{"snapshot.fetch.size": "97"})
	c := cdccheck.NewChecker("pg.public.r")
	var committed sdk.Position
	var afterLastOpen int64
	attempts, restarts, streaming := 0, 0, 0
	for attempts < 2 || streaming < 8 {
		if restarts > 80 {
			t.Fatalf("no progress after %d restarts: %v", restarts, c.Counts)
		}
		src := sdktest.OpenSource(t, target, cfg, committed)
		if committed == nil || isSnapshotting(t, committed) {
			attempts++
			afterLastOpen = w.Seq()
		} else {
			streaming++
		}
		// Commit a random prefix of what was read, then "crash".
		recs := read(t, src, 100+rng.IntN(3000), 300*time.Millisecond)
		keep := rng.IntN(len(recs) + 1)
		for _, r := range recs[:keep] {
			if err := c.Add(r); err != nil {
				t.Fatalf("restart %d: %v", restarts, err)
			}
		}
		if keep > 0 {
			committed = recs[keep-1].Position
			if err := src.(sdk.Committer).Commit(context.Background(), []sdk.Position{committed}); err != nil {
				t.Fatal(err)
			}
		}
		if err := src.Close(); err != nil {
			t.Fatal(err)
		}
		restarts++
	}
	if err := w.Stop(); err != nil {
		t.Fatal(err)
	}
	src := sdktest.OpenSource(t, target, cfg, committed)
	defer src.Close()
	pgtest.Exec(t, admin, "INSERT INTO r VALUES (-1, 0, 'end')")
	drainUntilRow(t, src, c, -1)
	if err := c.VerifyTable(admin, "r"); err != nil {
		t.Fatal(err)
	}
	if err := c.VerifyOps(w.Ops(), afterLastOpen); err != nil {
		t.Fatal(err)
	}
	if attempts < 2 {
		t.Errorf("the snapshot was never interrupted (%d attempts)", attempts)
	}
	t.Logf("%d restarts: %d snapshot attempts, %d while streaming; events %v", restarts, attempts, streaming, c.Counts)
}

func isSnapshotting(t testing.TB, pos sdk.Position) bool {
	p, err := decodePosition(pos)
	if err != nil {
		t.Fatal(err)
	}
	return p.Snap != nil && !p.Snap.Done
}

// read reads up to n records, for at most wait.
func read(t testing.TB, src sdk.Source, n int, wait time.Duration) []sdk.Record {
	t.Helper()
	var out []sdk.Record
	deadline := time.Now().Add(wait)
	for len(out) < n && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		recs, err := src.Read(ctx, n-len(out))
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
		out = append(out, recs...)
		if len(out) > 0 && len(recs) == 0 {
			break
		}
	}
	return out
}

// drainUntilRow reads and checks events until the create of row id.
func drainUntilRow(t testing.TB, src sdk.Source, c *cdccheck.Checker, id int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		for _, r := range read(t, src, 1000, time.Second) {
			if err := c.Add(r); err != nil {
				t.Fatal(err)
			}
			if r.Value != nil {
				if e := decodeEvent(t, r); e.Op == "c" && e.After["id"] != nil && e.After["id"].(interface{ String() string }).String() == itoaInt(id) {
					return
				}
			}
		}
	}
	t.Fatalf("row %d never arrived", id)
}
