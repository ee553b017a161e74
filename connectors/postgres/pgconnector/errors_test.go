package pgconnector

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tributary-io/tributary/connectors/postgres/internal/pgtest"
	"github.com/tributary-io/tributary/sdk"
	"github.com/tributary-io/tributary/sdk/sdktest"
)

// openErr opens a source with raw at pos and returns Open's error.
func openErr(t *testing.T, ctx context.Context, raw map[string]string, pos sdk.Position) error {
	t.Helper()
	spec, _ := target.Spec(sdk.KindSource)
	cfg, err := spec.Parse(raw)
	if err != nil {
		t.Fatalf("config %v: %v", raw, err)
	}
	src, err := target.NewSource()
	if err != nil {
		t.Fatal(err)
	}
	err = src.Open(ctx, cfg, pos)
	src.Close()
	return err
}

// TestOpenErrors checks that each bad setup fails Open with an error that
// says what is wrong and what to do.
func TestOpenErrors(t *testing.T) {
	t.Parallel()
	srv := pg.Server(t)
	// Roles are server-wide: this one is dropped after the database (the
	// grant on its table depends on it).
	role := fmt.Sprintf("plain_%d_%d", os.Getpid(), slots.Add(1))
	t.Cleanup(func() { pgtest.Exec(t, srv.Connect(t, "postgres"), "DROP ROLE IF EXISTS "+role) })
	db := srv.NewDatabase(t)
	conn := srv.Connect(t, db)
	pgtest.Exec(t, conn, `CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);
		CREATE ROLE `+role+` LOGIN PASSWORD 'plainpw'; GRANT SELECT ON t TO `+role+`;
		CREATE PUBLICATION only_t FOR TABLE t`)

	// A position committed by a source whose slot is then dropped.
	dropped := sourceConfig(srv, db, nil)
	src := sdktest.OpenSource(t, target, dropped, nil)
	pos := readAll(t, src, 1)[0].Position
	src.Close()
	pgtest.DropSlot(t, conn, dropped["slot.name"])

	cases := []struct {
		name  string
		extra map[string]string
		pos   sdk.Position
		want  []string
	}{
		{"wrong password", map[string]string{"password": "nope"}, nil,
			[]string{"password was rejected", "check the connector's password"}},
		{"missing database", map[string]string{"database": "nosuchdb"}, nil,
			[]string{`database "nosuchdb"`, "does not exist", "fix the connector's database field"}},
		{"nobody listening", map[string]string{"port": "1"}, nil,
			[]string{"cannot be reached", "check host and port"}},
		{"missing table", map[string]string{"tables": "public.t,public.missing"}, nil,
			[]string{"public.missing", "does not exist", "remove it from tables"}},
		{"patterns match nothing", map[string]string{"tables": "nosuch.*"}, nil,
			[]string{"match no table", "fix the patterns"}},
		{"publication missing", map[string]string{"publication.name": "absent", "publication.autocreate": "false"}, nil,
			[]string{`publication "absent" does not exist`, `CREATE PUBLICATION "absent" FOR TABLE "public"."t"`}},
		{"no replication attribute", map[string]string{"user": role, "password": "plainpw", "publication.name": "only_t", "publication.autocreate": "false"}, nil,
			[]string{"may not replicate", `ALTER ROLE "` + role + `" WITH REPLICATION`}},
		{"slot dropped", map[string]string{"slot.name": dropped["slot.name"]}, pos,
			[]string{"does not exist, but the connector has a committed position", "reset the connector's offsets"}},
		{"garbage position", nil, sdk.Position("{not json"),
			[]string{"position"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := openErr(t, context.Background(), withConfig(sourceConfig(srv, db, nil), c.extra), c.pos)
			checkErr(t, err, c.want)
			t.Log(err)
		})
	}
}

func checkErr(t *testing.T, err error, want []string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
}

// TestNoLogicalDecoding runs against a server with wal_level=replica.
func TestNoLogicalDecoding(t *testing.T) {
	t.Parallel()
	pg.Server(t)
	srv, err := pgtest.Start(pgtest.Options{WalLevel: "replica"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() }) // after the database's cleanup
	db := srv.NewDatabase(t)
	pgtest.Exec(t, srv.Connect(t, db), "CREATE TABLE t (id int PRIMARY KEY)")
	err = openErr(t, context.Background(), sourceConfig(srv, db, nil), nil)
	checkErr(t, err, []string{"wal_level=replica", "set wal_level = logical", "restart PostgreSQL"})
}

// TestResumeBehindConfirmed reopens at a position older than what was
// committed and confirmed: the slot cannot replay it.
func TestResumeBehindConfirmed(t *testing.T) {
	t.Parallel()
	srv := pg.Server(t)
	db := srv.NewDatabase(t)
	conn := srv.Connect(t, db)
	pgtest.Exec(t, conn, "CREATE TABLE t (id int PRIMARY KEY)")
	cfg := sourceConfig(srv, db, map[string]string{"snapshot.mode": "never"})
	src := sdktest.OpenSource(t, target, cfg, nil)
	pgtest.Exec(t, conn, "INSERT INTO t VALUES (1)")
	pgtest.Exec(t, conn, "INSERT INTO t VALUES (2)")
	recs := readAll(t, src, 2)
	if err := src.(sdk.Committer).Commit(context.Background(), []sdk.Position{recs[1].Position}); err != nil {
		t.Fatal(err)
	}
	waitConfirmed(t, conn, cfg["slot.name"], recs[1].Position)
	src.Close()
	err := openErr(t, context.Background(), cfg, recs[0].Position)
	checkErr(t, err, []string{"past the position to resume from", "pg_drop_replication_slot"})
	// At the committed position it resumes.
	src = sdktest.OpenSource(t, target, cfg, recs[1].Position)
	defer src.Close()
	pgtest.Exec(t, conn, "INSERT INTO t VALUES (3)")
	if got := decodeEvent(t, readAll(t, src, 1)[0]).After["id"]; got.(interface{ String() string }).String() != "3" {
		t.Errorf("resumed with row %v, want 3", got)
	}
}

// TestSlotBusy opens a second source on a slot in use.
func TestSlotBusy(t *testing.T) {
	t.Parallel()
	srv := pg.Server(t)
	db := srv.NewDatabase(t)
	pgtest.Exec(t, srv.Connect(t, db), "CREATE TABLE t (id int PRIMARY KEY)")
	cfg := sourceConfig(srv, db, nil)
	src := sdktest.OpenSource(t, target, cfg, nil)
	defer src.Close()
	// PostgreSQL answers "busy" at once; the deadline only bounds a hang, and
	// is generous because this runs beside parallel tests under -race.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := openErr(t, ctx, cfg, nil)
	checkErr(t, err, []string{"slot " + cfg["slot.name"] + " is busy"})
}

// waitConfirmed waits until the slot's confirmed_flush_lsn reaches pos's
// resume LSN.
func waitConfirmed(t testing.TB, conn *pgconn.PgConn, slot string, pos sdk.Position) {
	t.Helper()
	p, err := decodePosition(pos)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for confirmedLSN(t, conn, slot) < p.Resume {
		if time.Now().After(deadline) {
			t.Fatalf("slot %s confirmed %d, want %d", slot, confirmedLSN(t, conn, slot), p.Resume)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// confirmedLSN returns the slot's confirmed_flush_lsn.
func confirmedLSN(t testing.TB, conn *pgconn.PgConn, slot string) uint64 {
	t.Helper()
	got := pgtest.QueryValue(t, conn, "SELECT (confirmed_flush_lsn - '0/0'::pg_lsn)::text FROM pg_replication_slots WHERE slot_name = $1", slot)
	n, err := strconv.ParseUint(got, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
