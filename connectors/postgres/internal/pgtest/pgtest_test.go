package pgtest

import (
	"errors"
	"fmt"
	"os"
	"strings"
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

// outcome records how Unavailable ended a test, in place of testing.T.
type outcome struct {
	testing.TB
	ended string // "skip" or "fatal", the first of them
	msg   string
}

func (o *outcome) Helper() {}

func (o *outcome) Skip(args ...any) { o.end("skip", args) }

func (o *outcome) Fatal(args ...any) { o.end("fatal", args) }

func (o *outcome) end(how string, args []any) {
	if o.ended == "" {
		o.ended, o.msg = how, fmt.Sprint(args...)
	}
}

// TestUnavailable: without PostgreSQL a test skips on a developer machine
// but fails under CI=true, where .ci/install-deps.sh must have installed
// it; a server that is installed but does not start always fails.
func TestUnavailable(t *testing.T) {
	broken := errors.New("pgtest: initdb: exit status 1")
	cases := []struct {
		ci   string
		err  error
		want string
	}{
		{"", ErrNotInstalled, "skip"},
		{"false", ErrNotInstalled, "skip"},
		{"true", ErrNotInstalled, "fatal"},
		{"true", fmt.Errorf("start: %w", ErrNotInstalled), "fatal"},
		{"", broken, "fatal"},
		{"true", broken, "fatal"},
		{"", nil, "fatal"}, // Main.Run was not called
	}
	for _, c := range cases {
		t.Setenv("CI", c.ci)
		o := &outcome{TB: t}
		Unavailable(o, c.err)
		if o.ended != c.want {
			t.Errorf("CI=%q, %v: %s, want %s", c.ci, c.err, o.ended, c.want)
		}
		if c.err != nil && !strings.Contains(o.msg, c.err.Error()) {
			t.Errorf("CI=%q: message %q does not carry the error", c.ci, o.msg)
		}
	}
	if !strings.Contains(ErrNotInstalled.Error(), "postgresql") || !strings.Contains(ErrNotInstalled.Error(), ".ci/install-deps.sh") {
		t.Errorf("%v does not say how to install PostgreSQL", ErrNotInstalled)
	}
}
