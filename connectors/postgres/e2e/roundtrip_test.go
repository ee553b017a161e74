package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tributary-io/tributary/connectors/postgres/internal/cdccheck"
	"github.com/tributary-io/tributary/connectors/postgres/internal/pgtest"
	"github.com/tributary-io/tributary/plugins"
	"github.com/tributary-io/tributary/sdk"
)

// TestRoundTrip captures changes of database A and writes them to the same
// table in database B through two plugin processes, handing records from
// the source to the sink as the runtime would: write, flush, then commit
// the source positions. Both processes are killed now and then; failed
// writes are written again (the sink is idempotent). Once the writer stops
// and its last change arrived, the tables are equal.
func TestRoundTrip(t *testing.T) {
	const rows = 3000
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	srv := pg.Server(t)
	dbA, dbB := srv.NewDatabase(t), srv.NewDatabase(t)
	a, b := srv.Connect(t, dbA), srv.Connect(t, dbB)
	if err := cdccheck.CreateTable(context.Background(), a, "orders", rows); err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, b, "CREATE TABLE orders (id int PRIMARY KEY, v bigint NOT NULL, payload text)")
	w := cdccheck.StartWriter(srv.Connect(t, dbA), "orders", rows, seed, time.Millisecond)
	defer w.Stop()
	reg := registry(t)
	src := openSource(t, reg, sourceConfig(srv, dbA, map[string]string{"snapshot.fetch.size": "300"}))
	sinkCfg := srv.ConnectorConfig(dbB)
	sink := openSink(t, reg, sinkCfg)
	srcKiller := startKiller(seed, 3, 300*time.Millisecond, 2*time.Second, func() int { return src.Stats().PID })
	defer srcKiller.halt()
	sinkKiller := startKiller(seed+1, 3, 300*time.Millisecond, 2*time.Second, func() int { return sink.Stats().PID })
	defer sinkKiller.halt()

	moved, rewrites := 0, 0
	deadline := time.Now().Add(3 * time.Minute)
	stopped := false
	for {
		if time.Now().After(deadline) {
			t.Fatalf("moved %d records; writer stopped %v", moved, stopped)
		}
		if !stopped && srcKiller.finished() && sinkKiller.finished() && moved > rows+2000 {
			if err := w.Stop(); err != nil {
				t.Fatal(err)
			}
			pgtest.Exec(t, a, "INSERT INTO orders VALUES (-1, 0, 'end')")
			stopped = true
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		recs, err := src.Read(ctx, 1000)
		cancel()
		if errors.Is(err, plugins.ErrPluginFailed) || errors.Is(err, context.DeadlineExceeded) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			continue
		}
		// Until the sink took the batch durably, the source commits
		// nothing; a failed sink call means writing the batch again.
		for attempt := 0; ; attempt++ {
			if attempt == 50 {
				t.Fatalf("the sink failed 50 times in a row: %v", err)
			}
			if err = writeFlush(sink, recs); err == nil {
				break
			}
			if !errors.Is(err, plugins.ErrPluginFailed) {
				t.Fatal(err)
			}
			rewrites++
		}
		if err := src.Commit(context.Background(), positions(recs)); err != nil {
			t.Fatal(err)
		}
		moved += len(recs)
		if stopped && hasRow(recs, -1) {
			break
		}
	}
	compareTables(t, a, b, "orders")
	t.Logf("moved %d records; %d source kills, %d sink kills, %d batches written again; %s rows",
		moved, srcKiller.halt(), sinkKiller.halt(), rewrites, pgtest.QueryValue(t, b, "SELECT count(*) FROM orders"))
}

func writeFlush(sink *plugins.Sink, recs []sdk.Record) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := sink.Write(ctx, recs); err != nil {
		return err
	}
	return sink.Flush(ctx)
}

// hasRow reports whether recs hold the create of row id.
func hasRow(recs []sdk.Record, id int) bool {
	for _, r := range recs {
		if r.Value != nil && bytesContains(r.Value, fmt.Sprintf(`"after":{"id":%d,`, id)) {
			return true
		}
	}
	return false
}

func bytesContains(b []byte, s string) bool { return strings.Contains(string(b), s) }

// compareTables fails unless the table has the same rows in both databases.
func compareTables(t testing.TB, a, b *pgconn.PgConn, table string) {
	t.Helper()
	q := fmt.Sprintf("SELECT t::text FROM %s t ORDER BY id", table)
	ra, rb := pgtest.Query(t, a, q), pgtest.Query(t, b, q)
	if len(ra) != len(rb) {
		t.Fatalf("%s: %d rows in A, %d in B", table, len(ra), len(rb))
	}
	diffs := 0
	for i := range ra {
		if *ra[i][0] != *rb[i][0] {
			if diffs++; diffs <= 10 {
				t.Errorf("%s row %d: A %s, B %s", table, i, *ra[i][0], *rb[i][0])
			}
		}
	}
}
