package pgtest

import (
	"os"
	"testing"
)

var pg Main

func TestMain(m *testing.M) { os.Exit(pg.Run(m, Options{})) }

func TestServer(t *testing.T) {
	srv := pg.Server(t)
	db := srv.NewDatabase(t)
	conn := srv.Connect(t, db)
	checks := []struct{ sql, want string }{
		{"SHOW wal_level", "logical"},
		{"SELECT current_database()", db},
		{"SHOW listen_addresses", "127.0.0.1"},
		{"SELECT count(*) FROM pg_replication_slots", "0"},
	}
	for _, c := range checks {
		if got := QueryValue(t, conn, c.sql); got != c.want {
			t.Errorf("%s = %q, want %q", c.sql, got, c.want)
		}
	}
	Exec(t, conn, "CREATE TABLE x (id int PRIMARY KEY); INSERT INTO x VALUES (1), (2)")
	if got := QueryValue(t, conn, "SELECT sum(id) FROM x WHERE id >= $1", "1"); got != "3" {
		t.Errorf("sum = %s, want 3", got)
	}
	// The postmaster does not run as root.
	if os.Geteuid() == 0 {
		st, err := os.Stat(srv.dir + "/data")
		if err != nil {
			t.Fatal(err)
		}
		if uid := statUID(st); uid == 0 {
			t.Errorf("the data directory belongs to root")
		}
	}
}

// TestOtherWalLevel starts a second server with wal_level=replica, as the
// connector's "no logical decoding" test does.
func TestOtherWalLevel(t *testing.T) {
	pg.Server(t)
	srv, err := Start(Options{WalLevel: "replica"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	conn := srv.Connect(t, "postgres")
	if got := QueryValue(t, conn, "SHOW wal_level"); got != "replica" {
		t.Errorf("wal_level = %s", got)
	}
}
