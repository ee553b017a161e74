package pgconnector

import (
	"context"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connectors/postgres/internal/pgtest"
	"github.com/tributary-io/tributary/sdk"
	"github.com/tributary-io/tributary/sdk/sdktest"
)

// TestConfirmOnlyCommitted: the slot's confirmed LSN moves only to what the
// host committed. Records read but not committed are not confirmed however
// many status updates go by (a crash must find them still in the slot),
// and committing the first of three confirms it and not the others.
func TestConfirmOnlyCommitted(t *testing.T) {
	t.Parallel()
	srv := pg.Server(t)
	db := srv.NewDatabase(t)
	conn := srv.Connect(t, db)
	pgtest.Exec(t, conn, "CREATE TABLE t (id int PRIMARY KEY)")
	cfg := sourceConfig(srv, db, map[string]string{"snapshot.mode": "never", "status.interval": "50ms"})
	src := sdktest.OpenSource(t, target, cfg, nil)
	defer src.Close()
	start := confirmedLSN(t, conn, cfg["slot.name"])
	for _, stmt := range []string{"INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (2)", "INSERT INTO t VALUES (3)"} {
		pgtest.Exec(t, conn, stmt) // three transactions
	}
	recs := readAll(t, src, 3)
	resume := make([]uint64, len(recs))
	for i, r := range recs {
		p, err := decodePosition(r.Position)
		if err != nil {
			t.Fatal(err)
		}
		resume[i] = p.Resume
		if p.Resume <= start || (i > 0 && p.Resume <= resume[i-1]) {
			t.Fatalf("record %d resumes at %d (slot at %d, previous %v)", i, p.Resume, start, resume[:i])
		}
	}

	// holds checks for a while (20 status intervals) that the slot stays
	// at want.
	holds := func(want uint64, what string) {
		t.Helper()
		until := time.Now().Add(time.Second)
		for time.Now().Before(until) {
			if got := confirmedLSN(t, conn, cfg["slot.name"]); got != want {
				t.Fatalf("%s: the slot confirmed %d, want %d (records resume at %v)", what, got, want, resume)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	holds(start, "nothing committed")
	if err := src.(sdk.Committer).Commit(context.Background(), []sdk.Position{recs[0].Position}); err != nil {
		t.Fatal(err)
	}
	waitConfirmed(t, conn, cfg["slot.name"], recs[0].Position)
	holds(resume[0], "the first record committed")
	if err := src.(sdk.Committer).Commit(context.Background(), []sdk.Position{recs[2].Position}); err != nil {
		t.Fatal(err)
	}
	waitConfirmed(t, conn, cfg["slot.name"], recs[2].Position)
	holds(resume[2], "the last record committed")
}
