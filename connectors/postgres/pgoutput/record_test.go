package pgoutput

import (
	"bytes"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/tributary-io/tributary/connectors/postgres/internal/pgtest"
)

// The recorded streams in testdata are real replication traffic from a
// PostgreSQL server: `go test ./connectors/postgres/pgoutput -record`
// re-records them (the server's version is noted in testdata/VERSION). The
// decoding tests then run on these bytes without a server.
var record = flag.Bool("record", false, "re-record testdata/*.stream from a PostgreSQL server started with pgtest")

func TestMain(m *testing.M) {
	flag.Parse()
	if *record {
		if err := recordAll(); err != nil {
			fmt.Fprintln(os.Stderr, "record:", err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// scenario is SQL run on a fresh database after the setup statements and
// the slot's creation; the stream of its transactions is recorded.
type scenario struct {
	name  string
	setup string
	run   []string // each its own transaction
}

var scenarios = []scenario{
	{name: "basic",
		setup: "CREATE TABLE t (id int PRIMARY KEY, name text, n numeric(10,2))",
		run: []string{
			"INSERT INTO t VALUES (1, 'alice', 1.50)",
			"INSERT INTO t VALUES (2, NULL, NULL), (3, '', 0)",
			"UPDATE t SET name = 'bob' WHERE id = 1",
			"DELETE FROM t WHERE id = 2",
		}},
	{name: "identity",
		setup: "CREATE TABLE f (id int PRIMARY KEY, v text); ALTER TABLE f REPLICA IDENTITY FULL; CREATE TABLE k (a int, b int, v text, PRIMARY KEY (a, b))",
		run: []string{
			"INSERT INTO f VALUES (1, 'x'); INSERT INTO k VALUES (1, 2, 'y')",
			"UPDATE f SET v = 'z' WHERE id = 1",
			"UPDATE k SET b = 3 WHERE a = 1",
			"DELETE FROM f WHERE id = 1; DELETE FROM k WHERE a = 1",
		}},
	{name: "toast",
		setup: "CREATE TABLE big (id int PRIMARY KEY, n int, doc text); ALTER TABLE big ALTER COLUMN doc SET STORAGE EXTERNAL",
		run: []string{
			"INSERT INTO big VALUES (1, 0, repeat('abcdefgh', 1000))",
			"UPDATE big SET n = 1 WHERE id = 1",
		}},
	{name: "schema",
		setup: "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy'); CREATE TABLE s (id int PRIMARY KEY, a text); CREATE TABLE u (id int PRIMARY KEY)",
		run: []string{
			"INSERT INTO s VALUES (1, 'one')",
			"ALTER TABLE s ADD COLUMN m mood; INSERT INTO s VALUES (2, 'two', 'happy')",
			"ALTER TABLE s DROP COLUMN a; UPDATE s SET m = 'ok' WHERE id = 1",
			"INSERT INTO u VALUES (1); TRUNCATE s, u RESTART IDENTITY",
			"SELECT pg_logical_emit_message(true, 'tributary', 'hello')",
		}},
}

func recordAll() error {
	srv, err := pgtest.Start(pgtest.Options{})
	if err != nil {
		return err
	}
	defer srv.Stop()
	if err := os.WriteFile("testdata/VERSION", []byte("PostgreSQL "+srv.Version+"\n"), 0o644); err != nil {
		return err
	}
	for _, sc := range scenarios {
		if err := recordScenario(srv, sc); err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
	}
	return nil
}

func recordScenario(srv *pgtest.Server, sc scenario) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := pgconn.Connect(ctx, srv.DSN("postgres"))
	if err != nil {
		return err
	}
	defer admin.Close(ctx)
	db := "rec_" + sc.name
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)").ReadAll(); err != nil {
		return err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+db).ReadAll(); err != nil {
		return err
	}
	conn, err := pgconn.Connect(ctx, srv.DSN(db))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sc.setup+"; CREATE PUBLICATION p FOR ALL TABLES").ReadAll(); err != nil {
		return err
	}
	cfg, err := pgconn.ParseConfig(srv.DSN(db))
	if err != nil {
		return err
	}
	cfg.RuntimeParams["replication"] = "database"
	repl, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer repl.Close(ctx)
	slot, err := CreateSlot(ctx, repl, "rec", SlotOptions{Temporary: true})
	if err != nil {
		return err
	}
	for _, sql := range sc.run {
		if _, err := conn.Exec(ctx, "BEGIN; "+sql+"; COMMIT").ReadAll(); err != nil {
			return fmt.Errorf("%s: %w", sql, err)
		}
	}
	args := append(PluginArgs("p"), "messages 'true'")
	if err := StartReplication(ctx, repl, slot.Name, slot.ConsistentPoint, args); err != nil {
		return err
	}
	var out bytes.Buffer
	for commits := 0; commits < len(sc.run); {
		msg, err := repl.ReceiveMessage(ctx)
		if err != nil {
			return err
		}
		cd, ok := msg.(*pgproto3.CopyData)
		if !ok {
			return fmt.Errorf("unexpected %T", msg)
		}
		if cd.Data[0] != streamXLogData {
			continue // keepalives depend on timing: not recorded
		}
		out.Write(binary.BigEndian.AppendUint32(nil, uint32(len(cd.Data))))
		out.Write(cd.Data)
		if len(cd.Data) > 25 && cd.Data[25] == byte(TypeCommit) {
			commits++
		}
	}
	return os.WriteFile(filepath.Join("testdata", sc.name+".stream"), out.Bytes(), 0o644)
}

// readStream returns the CopyData payloads recorded in testdata/name.stream.
func readStream(t testing.TB, name string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".stream"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	r := bytes.NewReader(b)
	for {
		var n uint32
		if err := binary.Read(r, binary.BigEndian, &n); err == io.EOF {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(r, p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
}
