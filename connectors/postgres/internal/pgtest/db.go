package pgtest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// NewDatabase creates a fresh database and returns its name. At cleanup it
// ends every session on it, drops its replication slots and drops it.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), s.dbs.Add(1))
	admin := s.Connect(t, "postgres")
	Exec(t, admin, "CREATE DATABASE "+quoteIdent(name))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgconn.Connect(ctx, s.DSN("postgres"))
		if err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if err := s.dropDatabase(ctx, conn, name); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return name
}

// dropDatabase drops database name with its replication slots. A slot may
// still be held by a walsender that has not noticed its client is gone, so
// it terminates those and retries until the deadline.
func (s *Server) dropDatabase(ctx context.Context, conn *pgconn.PgConn, name string) error {
	lit := quoteLiteral(name)
	stmts := []string{
		`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = ` + lit + ` AND active_pid IS NOT NULL`,
		`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = ` + lit + ` AND NOT active`,
		`DROP DATABASE IF EXISTS ` + quoteIdent(name) + ` WITH (FORCE)`,
	}
	for {
		var err error
		for _, sql := range stmts {
			if _, err = conn.Exec(ctx, sql).ReadAll(); err != nil {
				break
			}
		}
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// DropSlot drops a replication slot, waiting (up to 30s) for the session
// that used it to end: a walsender notices its client is gone only when it
// next reads.
func DropSlot(t testing.TB, conn *pgconn.PgConn, slot string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := conn.Exec(context.Background(), "SELECT pg_drop_replication_slot("+quoteLiteral(slot)+")").ReadAll()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pgtest: drop slot %s: %v", slot, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Connect opens a connection to database db as the superuser, closed at
// cleanup.
func (s *Server) Connect(t testing.TB, db string) *pgconn.PgConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgconn.Connect(ctx, s.DSN(db))
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", db, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// Exec runs sql (one or more statements, simple protocol) and fails the
// test on error.
func Exec(t testing.TB, conn *pgconn.PgConn, sql string) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), sql).ReadAll(); err != nil {
		t.Fatalf("pgtest: %s: %v", abbreviate(sql), err)
	}
}

// Query runs one statement with text parameters and returns its rows as
// text (nil for NULL), failing the test on error.
func Query(t testing.TB, conn *pgconn.PgConn, sql string, args ...string) [][]*string {
	t.Helper()
	rows, err := QueryErr(conn, sql, args...)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", abbreviate(sql), err)
	}
	return rows
}

// QueryErr is Query returning its error, for use outside the test goroutine.
func QueryErr(conn *pgconn.PgConn, sql string, args ...string) ([][]*string, error) {
	params := make([][]byte, len(args))
	for i, a := range args {
		params[i] = []byte(a)
	}
	res := conn.ExecParams(context.Background(), sql, params, nil, nil, nil).Read()
	if res.Err != nil {
		return nil, res.Err
	}
	out := make([][]*string, len(res.Rows))
	for i, row := range res.Rows {
		out[i] = make([]*string, len(row))
		for j, v := range row {
			if v != nil {
				s := string(v)
				out[i][j] = &s
			}
		}
	}
	return out, nil
}

// QueryValue returns the single value of a one-row, one-column query.
func QueryValue(t testing.TB, conn *pgconn.PgConn, sql string, args ...string) string {
	t.Helper()
	rows := Query(t, conn, sql, args...)
	if len(rows) != 1 || len(rows[0]) != 1 || rows[0][0] == nil {
		t.Fatalf("pgtest: %s: want one non-null value, got %d rows", abbreviate(sql), len(rows))
	}
	return *rows[0][0]
}

func quoteLiteral(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

func abbreviate(sql string) string {
	sql = strings.Join(strings.Fields(sql), " ")
	if len(sql) > 120 {
		return sql[:117] + "..."
	}
	return sql
}
