package pgconnector

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tributary-io/tributary/connectors/postgres/internal/pgtest"
	"github.com/tributary-io/tributary/sdk"
	"github.com/tributary-io/tributary/sdk/sdktest"
)

func dbz(op, after, before string) []byte {
	if after == "" {
		after = "null"
	}
	if before == "" {
		before = "null"
	}
	return []byte(`{"before":` + before + `,"after":` + after + `,"source":{"schema":"public","table":"people"},"op":"` + op + `","ts_ms":1}`)
}

func rec(key string, value []byte) sdk.Record {
	r := sdk.Record{Topic: "pg.public.people", Value: value}
	if key != "" {
		r.Key = []byte(key)
	}
	return r
}

func writeFlush(t *testing.T, sink sdk.Sink, recs ...sdk.Record) error {
	t.Helper()
	if err := sink.Write(context.Background(), recs); err != nil {
		return err
	}
	return sink.Flush(context.Background())
}

func tableText(t *testing.T, conn *pgconn.PgConn, sql string) string {
	t.Helper()
	var rows []string
	for _, r := range pgtest.Query(t, conn, sql) {
		var cols []string
		for _, c := range r {
			if c == nil {
				cols = append(cols, "NULL")
			} else {
				cols = append(cols, *c)
			}
		}
		rows = append(rows, strings.Join(cols, "|"))
	}
	return strings.Join(rows, "\n")
}

// TestSinkUpsert applies Debezium events and flat rows by key, twice: the
// second time changes nothing.
func TestSinkUpsert(t *testing.T) {
	t.Parallel()
	srv := pg.Server(t)
	db := srv.NewDatabase(t)
	conn := srv.Connect(t, db)
	pgtest.Exec(t, conn, "CREATE TABLE people (id int PRIMARY KEY, name text, tags text[], born date, extra jsonb)")
	sink := sdktest.OpenSink(t, target, srv.ConnectorConfig(db))
	defer sink.Close()
	batch := []sdk.Record{
		rec(`{"id":1}`, dbz("r", `{"id":1,"name":"ada","tags":["a","b"],"born":"1815-12-10","extra":{"x":1}}`, "")),
		rec(`{"id":2}`, dbz("c", `{"id":2,"name":"bob","tags":null,"born":null,"extra":null}`, "")),
		rec(`{"id":3}`, dbz("c", `{"id":3,"name":"cy","tags":[],"born":null,"extra":[1,"2"]}`, "")),
		rec(`{"id":1}`, dbz("u", `{"id":1,"name":"ada l."}`, `{"id":1}`)), // a partial after keeps other columns
		rec(`{"id":2}`, dbz("d", "", `{"id":2}`)),
		rec(`{"id":2}`, nil), // its tombstone
		rec(`{"id":4}`, []byte(`{"id":4,"name":"flat"}`)),
		rec(`{"id":3}`, nil), // a tombstone alone deletes too
	}
	want := "1|ada l.|{a,b}|1815-12-10|{\"x\": 1}\n4|flat|NULL|NULL|NULL"
	for round := 1; round <= 2; round++ {
		if err := writeFlush(t, sink, batch...); err != nil {
			t.Fatal(err)
		}
		if got := tableText(t, conn, "SELECT * FROM people ORDER BY id"); got != want {
			t.Fatalf("round %d:\n%s\nwant:\n%s", round, got, want)
		}
	}
}

// TestSinkBatchIsOneTransaction: a failing record leaves the whole batch
// unapplied and names the record.
func TestSinkBatchIsOneTransaction(t *testing.T) {
	t.Parallel()
	srv := pg.Server(t)
	db := srv.NewDatabase(t)
	conn := srv.Connect(t, db)
	pgtest.Exec(t, conn, "CREATE TABLE people (id int PRIMARY KEY, n int)")
	sink := sdktest.OpenSink(t, target, srv.ConnectorConfig(db))
	defer sink.Close()
	bad := rec(`{"id":2}`, []byte(`{"id":2,"n":"not a number"}`))
	bad.Offset = 41
	err := writeFlush(t, sink, rec(`{"id":1}`, []byte(`{"id":1,"n":1}`)), bad)
	checkErr(t, err, []string{"pg.public.people/0@41", "invalid input syntax for type integer"})
	if got := pgtest.QueryValue(t, conn, "SELECT count(*) FROM people"); got != "0" {
		t.Errorf("%s rows after a failed batch", got)
	}
}

// TestSinkAutoCreate creates the table from the first record and adds
// columns for new fields.
func TestSinkAutoCreate(t *testing.T) {
	t.Parallel()
	srv := pg.Server(t)
	db := srv.NewDatabase(t)
	conn := srv.Connect(t, db)
	sink := sdktest.OpenSink(t, target, withConfig(srv.ConnectorConfig(db), map[string]string{"auto.create": "true", "auto.evolve": "true"}))
	defer sink.Close()
	err := writeFlush(t, sink,
		rec(`{"id":7,"region":"eu"}`, dbz("c", `{"id":7,"region":"eu","score":1.5,"n":3,"ok":true,"doc":{"a":[1]},"note":null}`, "")))
	if err != nil {
		t.Fatal(err)
	}
	cols := tableText(t, conn, `SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
		WHERE attrelid = 'public.people'::regclass AND attnum > 0 ORDER BY attnum`)
	wantCols := "id|bigint\nregion|text\nscore|double precision\nn|bigint\nok|boolean\ndoc|jsonb\nnote|text"
	if cols != wantCols {
		t.Errorf("columns:\n%s\nwant:\n%s", cols, wantCols)
	}
	pk := tableText(t, conn, `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
		WHERE i.indrelid = 'public.people'::regclass AND i.indisprimary ORDER BY a.attnum`)
	if pk != "id\nregion" {
		t.Errorf("primary key %q", pk)
	}
	// A new field: a new column; then the same key upserts.
	if err := writeFlush(t, sink, rec(`{"id":7,"region":"eu"}`, dbz("u", `{"id":7,"region":"eu","score":2,"added":"x"}`, ""))); err != nil {
		t.Fatal(err)
	}
	if got := tableText(t, conn, "SELECT id, region, score, n, added FROM people"); got != "7|eu|2|3|x" {
		t.Errorf("row %q", got)
	}
}

// TestSinkTruncate applies op t only when enabled.
func TestSinkTruncate(t *testing.T) {
	t.Parallel()
	srv := pg.Server(t)
	db := srv.NewDatabase(t)
	conn := srv.Connect(t, db)
	pgtest.Exec(t, conn, "CREATE TABLE people (id int PRIMARY KEY); INSERT INTO people VALUES (1)")
	truncate := rec("", dbz("t", "", ""))
	for _, c := range []struct{ enabled, rows string }{{"false", "1"}, {"true", "0"}} {
		sink := sdktest.OpenSink(t, target, withConfig(srv.ConnectorConfig(db), map[string]string{"truncate.enabled": c.enabled}))
		if err := writeFlush(t, sink, truncate); err != nil {
			t.Fatal(err)
		}
		sink.Close()
		if got := pgtest.QueryValue(t, conn, "SELECT count(*) FROM people"); got != c.rows {
			t.Errorf("truncate.enabled=%s: %s rows, want %s", c.enabled, got, c.rows)
		}
	}
}

func TestSinkErrors(t *testing.T) {
	t.Parallel()
	srv := pg.Server(t)
	db := srv.NewDatabase(t)
	conn := srv.Connect(t, db)
	pgtest.Exec(t, conn, "CREATE TABLE nokey (id int, v text); CREATE TABLE people (id int PRIMARY KEY)")
	cases := []struct {
		name  string
		extra map[string]string
		rec   sdk.Record
		want  []string
	}{
		{"missing table", map[string]string{"table": "absent"}, rec(`{"id":1}`, []byte(`{"id":1}`)),
			[]string{"table absent does not exist", "set auto.create=true"}},
		{"unknown column", nil, rec(`{"id":1}`, []byte(`{"id":1,"colour":"red"}`)),
			[]string{"has no column colour", "set auto.evolve=true"}},
		{"no key", nil, rec("", []byte(`{"id":1}`)),
			[]string{"no key", "set insert.mode=insert"}},
		{"key not an object", nil, rec(`17`, []byte(`{"id":1}`)),
			[]string{"the key is not a JSON object"}},
		{"value not an object", nil, rec(`{"id":1}`, []byte(`[1]`)),
			[]string{"the value is not a JSON object", "value.format=raw"}},
		{"no unique constraint", map[string]string{"table": "nokey"}, rec(`{"id":1}`, []byte(`{"id":1,"v":"x"}`)),
			[]string{"add one, or set insert.mode=insert"}},
		{"unknown op", nil, rec(`{"id":1}`, dbz("x", `{"id":1}`, "")),
			[]string{`unknown op "x"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sink := sdktest.OpenSink(t, target, withConfig(srv.ConnectorConfig(db), c.extra))
			defer sink.Close()
			checkErr(t, writeFlush(t, sink, c.rec), c.want)
		})
	}
	// Connection problems surface at Open.
	sink, err := target.NewSink()
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := target.Spec(sdk.KindSink)
	cfg, err := spec.Parse(withConfig(srv.ConnectorConfig(db), map[string]string{"password": "wrong"}))
	if err != nil {
		t.Fatal(err)
	}
	checkErr(t, sink.Open(context.Background(), cfg), []string{"password was rejected"})
	sink.Close()
}
