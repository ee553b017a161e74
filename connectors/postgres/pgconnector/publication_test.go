package pgconnector

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connectors/postgres/internal/pgtest"
	"github.com/tributary-io/tributary/sdk/sdktest"
)

// TestPublication checks the publication the source creates or reuses:
// it lists the tables that tables minus tables.exclude match; a table that
// starts to match is added at the next start (the same publication, not a
// new one) and its changes are captured; with publication.autocreate=false
// a publication lacking a captured table is an error naming the fix, and
// one listing more tables is used as it is, the extra table's changes
// ignored.
func TestPublication(t *testing.T) {
	t.Parallel()
	srv := pg.Server(t)
	db := srv.NewDatabase(t)
	conn := srv.Connect(t, db)
	pgtest.Exec(t, conn, `CREATE SCHEMA s; CREATE TABLE s.a (id int PRIMARY KEY); CREATE TABLE s.b (id int PRIMARY KEY);
		CREATE TABLE s.c (id int PRIMARY KEY); CREATE TABLE public.x (id int PRIMARY KEY)`)
	published := func(pub string) string {
		t.Helper()
		return tableText(t, conn, "SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = '"+pub+"' ORDER BY 1")
	}
	pubOID := func(pub string) string {
		t.Helper()
		return pgtest.QueryValue(t, conn, "SELECT oid::text FROM pg_publication WHERE pubname = $1", pub)
	}

	cfg := sourceConfig(srv, db, map[string]string{"snapshot.mode": "never", "publication.name": "pubtest",
		"tables": "s.*", "tables.exclude": "s.c"})
	src := sdktest.OpenSource(t, target, cfg, nil)
	src.Close()
	if got := published("pubtest"); got != "s.a\ns.b" {
		t.Errorf("created publication lists:\n%s\nwant s.a, s.b", got)
	}
	oid := pubOID("pubtest")

	// A new matching table joins the same publication at the next start.
	pgtest.Exec(t, conn, "CREATE TABLE s.d (id int PRIMARY KEY)")
	src = sdktest.OpenSource(t, target, cfg, nil)
	defer src.Close()
	if got := published("pubtest"); got != "s.a\ns.b\ns.d" {
		t.Errorf("reused publication lists:\n%s\nwant s.a, s.b, s.d", got)
	}
	if got := pubOID("pubtest"); got != oid {
		t.Errorf("publication oid %s, was %s: recreated instead of reused", got, oid)
	}
	for _, stmt := range []string{"INSERT INTO s.c VALUES (1)", "INSERT INTO public.x VALUES (2)", "INSERT INTO s.d VALUES (3)"} {
		pgtest.Exec(t, conn, stmt)
	}
	if got := short(t, readAll(t, src, 1)[0]); got != `pg.s.d {"id":3} c null {"id":3}` {
		t.Errorf("event %s, want the insert into s.d", got)
	}

	pgtest.Exec(t, conn, "CREATE PUBLICATION partial FOR TABLE s.a; CREATE PUBLICATION wide FOR TABLE s.a, s.b")
	err := openErr(t, context.Background(), withConfig(cfg, map[string]string{"publication.name": "partial",
		"publication.autocreate": "false", "tables": "s.a,s.b", "tables.exclude": ""}), nil)
	checkErr(t, err, []string{`publication "partial" does not publish "s"."b"`, `ALTER PUBLICATION "partial" ADD TABLE "s"."b"`, "publication.autocreate=true"})
	if got := published("partial"); got != "s.a" {
		t.Errorf("autocreate=false changed the publication to:\n%s", got)
	}

	wide := sourceConfig(srv, db, map[string]string{"snapshot.mode": "never", "publication.name": "wide",
		"publication.autocreate": "false", "tables": "s.a"})
	src2 := sdktest.OpenSource(t, target, wide, nil)
	defer src2.Close()
	pgtest.Exec(t, conn, "INSERT INTO s.b VALUES (4)")
	pgtest.Exec(t, conn, "INSERT INTO s.a VALUES (5)")
	recs := read(t, src2, 10, 2*time.Second)
	var got []string
	for _, r := range recs {
		got = append(got, short(t, r))
	}
	if want := `pg.s.a {"id":5} c null {"id":5}`; strings.Join(got, "\n") != want {
		t.Errorf("events through a wider publication:\n%s\nwant %s", strings.Join(got, "\n"), want)
	}
	if got := published("wide"); got != "s.a\ns.b" {
		t.Errorf("autocreate=false changed the publication to:\n%s", got)
	}
}
