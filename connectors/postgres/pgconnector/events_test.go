package pgconnector

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connectors/postgres/internal/pgtest"
	"github.com/tributary-io/tributary/sdk"
	"github.com/tributary-io/tributary/sdk/sdktest"
)

// short renders a record as "topic key op before after" for comparisons
// with what the SQL implies.
func short(t testing.TB, r sdk.Record) string {
	t.Helper()
	if r.Value == nil {
		return fmt.Sprintf("%s %s tombstone", r.Topic, r.Key)
	}
	var ev struct {
		Before json.RawMessage `json:"before"`
		After  json.RawMessage `json:"after"`
		Op     string          `json:"op"`
	}
	if err := json.Unmarshal(r.Value, &ev); err != nil {
		t.Fatal(err)
	}
	key := string(r.Key)
	if r.Key == nil {
		key = "nil"
	}
	return fmt.Sprintf("%s %s %s %s %s", r.Topic, key, ev.Op, ev.Before, ev.After)
}

// TestEvents checks the events each kind of change gives: replica
// identity default and FULL, key changes, TOAST, truncate, schema changes,
// tables without a primary key, include/exclude patterns and tombstones.
func TestEvents(t *testing.T) {
	t.Parallel()
	srv := pg.Server(t)
	cases := []struct {
		name   string
		setup  string
		extra  map[string]string
		change string
		want   []string
	}{
		{name: "default identity",
			setup:  "CREATE TABLE a (id int PRIMARY KEY, v text)",
			change: "INSERT INTO a VALUES (1, 'x'); UPDATE a SET v = 'y' WHERE id = 1; DELETE FROM a WHERE id = 1",
			want: []string{
				`pg.public.a {"id":1} c null {"id":1,"v":"x"}`,
				`pg.public.a {"id":1} u null {"id":1,"v":"y"}`,
				`pg.public.a {"id":1} d {"id":1} null`,
				`pg.public.a {"id":1} tombstone`,
			}},
		{name: "full identity, no tombstones",
			setup:  "CREATE TABLE a (id int PRIMARY KEY, v text); ALTER TABLE a REPLICA IDENTITY FULL",
			extra:  map[string]string{"tombstones.on.delete": "false"},
			change: "INSERT INTO a VALUES (1, 'x'); UPDATE a SET v = 'y' WHERE id = 1; DELETE FROM a WHERE id = 1",
			want: []string{
				`pg.public.a {"id":1} c null {"id":1,"v":"x"}`,
				`pg.public.a {"id":1} u {"id":1,"v":"x"} {"id":1,"v":"y"}`,
				`pg.public.a {"id":1} d {"id":1,"v":"y"} null`,
			}},
		{name: "key change",
			setup:  "CREATE TABLE a (id int PRIMARY KEY, v text)",
			change: "INSERT INTO a VALUES (1, 'x'); UPDATE a SET id = 2 WHERE id = 1",
			want: []string{
				`pg.public.a {"id":1} c null {"id":1,"v":"x"}`,
				`pg.public.a {"id":1} d {"id":1} null`,
				`pg.public.a {"id":1} tombstone`,
				`pg.public.a {"id":2} c null {"id":2,"v":"x"}`,
			}},
		{name: "composite key and keyless table",
			setup:  "CREATE TABLE a (x int, y text, v int, PRIMARY KEY (y, x)); CREATE TABLE n (v int); ALTER TABLE n REPLICA IDENTITY FULL",
			change: "INSERT INTO a VALUES (1, 'k', 0); INSERT INTO n VALUES (5); DELETE FROM n",
			want: []string{
				`pg.public.a {"y":"k","x":1} c null {"x":1,"y":"k","v":0}`,
				`pg.public.n nil c null {"v":5}`,
				`pg.public.n nil d {"v":5} null`,
			}},
		{name: "toast",
			setup: "CREATE TABLE a (id int PRIMARY KEY, n int, doc text); ALTER TABLE a ALTER COLUMN doc SET STORAGE EXTERNAL; " +
				"CREATE TABLE f (id int PRIMARY KEY, n int, doc text); ALTER TABLE f ALTER COLUMN doc SET STORAGE EXTERNAL; ALTER TABLE f REPLICA IDENTITY FULL; " +
				"INSERT INTO a VALUES (1, 0, repeat('x', 3000)); INSERT INTO f VALUES (1, 0, repeat('y', 3000))",
			change: "UPDATE a SET n = 1; UPDATE f SET n = 1",
			want: []string{
				// The unchanged out-of-line value is not sent: left out, or
				// taken from the full old row.
				`pg.public.a {"id":1} u null {"id":1,"n":1}`,
				`pg.public.f {"id":1} u {"id":1,"n":0,"doc":"` + strings.Repeat("y", 3000) + `"} {"id":1,"n":1,"doc":"` + strings.Repeat("y", 3000) + `"}`,
			}},
		{name: "truncate",
			setup:  "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY)",
			change: "TRUNCATE a, b",
			want:   []string{`pg.public.a nil t null null`, `pg.public.b nil t null null`}},
		{name: "schema changes",
			setup:  "CREATE TABLE a (id int PRIMARY KEY, old text)",
			change: "INSERT INTO a VALUES (1, 'o'); ALTER TABLE a ADD COLUMN new int DEFAULT 7; INSERT INTO a VALUES (2, 'p'); ALTER TABLE a DROP COLUMN old; UPDATE a SET new = 8 WHERE id = 1",
			want: []string{
				`pg.public.a {"id":1} c null {"id":1,"old":"o"}`,
				`pg.public.a {"id":2} c null {"id":2,"old":"p","new":7}`,
				`pg.public.a {"id":1} u null {"id":1,"new":8}`,
			}},
		{name: "include and exclude",
			setup: "CREATE SCHEMA s; CREATE TABLE s.keep (id int PRIMARY KEY); CREATE TABLE s.skip (id int PRIMARY KEY); " +
				"CREATE TABLE s.also (id int PRIMARY KEY); CREATE TABLE public.other (id int PRIMARY KEY)",
			extra:  map[string]string{"tables": "s.*", "tables.exclude": "s.sk*", "topic.prefix": "cdc"},
			change: "INSERT INTO s.keep VALUES (1); INSERT INTO s.skip VALUES (2); INSERT INTO public.other VALUES (3); INSERT INTO s.also VALUES (4)",
			want:   []string{`cdc.s.keep {"id":1} c null {"id":1}`, `cdc.s.also {"id":4} c null {"id":4}`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			db := srv.NewDatabase(t)
			conn := srv.Connect(t, db)
			pgtest.Exec(t, conn, c.setup)
			extra := withConfig(map[string]string{"snapshot.mode": "never"}, c.extra)
			src := sdktest.OpenSource(t, target, sourceConfig(srv, db, extra), nil)
			defer src.Close()
			for _, stmt := range strings.Split(c.change, "; ") {
				pgtest.Exec(t, conn, stmt) // each its own transaction
			}
			recs := readAll(t, src, len(c.want))
			for i, r := range recs {
				if got := short(t, r); got != c.want[i] {
					t.Errorf("event %d:\n got %s\nwant %s", i, got, c.want[i])
				}
			}
			if extra := read(t, src, 10, 300*time.Millisecond); len(extra) > 0 {
				t.Errorf("%d more events than expected, first: %s", len(extra), short(t, extra[0]))
			}
		})
	}
}

// TestEventSource checks the source block and timestamps: commit time,
// transaction id, increasing LSNs, the snapshot flag.
func TestEventSource(t *testing.T) {
	t.Parallel()
	srv := pg.Server(t)
	db := srv.NewDatabase(t)
	conn := srv.Connect(t, db)
	pgtest.Exec(t, conn, "CREATE TABLE a (id int PRIMARY KEY); INSERT INTO a VALUES (0)")
	src := sdktest.OpenSource(t, target, sourceConfig(srv, db, nil), nil)
	defer src.Close()
	snap := decodeEvent(t, readAll(t, src, 1)[0])
	if snap.Source.Snapshot != "true" || snap.Op != "r" || snap.Source.TxID != nil {
		t.Errorf("snapshot event source %+v", snap.Source)
	}
	before := time.Now()
	pgtest.Exec(t, conn, "BEGIN; INSERT INTO a VALUES (1); INSERT INTO a VALUES (2); COMMIT")
	xid := pgtest.QueryValue(t, conn, "SELECT xmin::text FROM a WHERE id = 1")
	recs := readAll(t, src, 2)
	var lastLSN uint64
	for _, r := range recs {
		e := decodeEvent(t, r)
		s := e.Source
		if s.Connector != "postgresql" || s.Name != "pg" || s.DB != db || s.Schema != "public" || s.Table != "a" || s.Snapshot != "false" {
			t.Errorf("source %+v", s)
		}
		if s.TxID == nil || fmt.Sprint(*s.TxID) != xid {
			t.Errorf("txId %v, want %s", s.TxID, xid)
		}
		if s.LSN <= lastLSN {
			t.Errorf("lsn %d after %d", s.LSN, lastLSN)
		}
		lastLSN = s.LSN
		commit := time.UnixMilli(e.TsMs)
		if e.TsMs != s.TsMs || commit.Before(before.Add(-time.Second)) || commit.After(time.Now().Add(time.Second)) || !r.Timestamp.Truncate(time.Millisecond).Equal(commit) {
			t.Errorf("ts_ms %d (source %d), record time %v, commit around %v", e.TsMs, s.TsMs, r.Timestamp, before)
		}
	}
}

// TestHeartbeat: with no captured change but WAL moving (writes to another
// database), heartbeats carry the server's WAL position, and committing
// them advances the slot.
func TestHeartbeat(t *testing.T) {
	t.Parallel()
	srv := pg.Server(t)
	db, other := srv.NewDatabase(t), srv.NewDatabase(t)
	conn, otherConn := srv.Connect(t, db), srv.Connect(t, other)
	pgtest.Exec(t, conn, "CREATE TABLE quiet (id int PRIMARY KEY)")
	pgtest.Exec(t, otherConn, "CREATE TABLE busy (id int)")
	cfg := sourceConfig(srv, db, map[string]string{"heartbeat.interval": "200ms", "heartbeat.topic": "beats"})
	src := sdktest.OpenSource(t, target, cfg, nil)
	defer src.Close()
	start := confirmedLSN(t, conn, cfg["slot.name"])
	deadline := time.Now().Add(30 * time.Second)
	beats := 0
	for beats < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d heartbeats in 30s", beats)
		}
		pgtest.Exec(t, otherConn, "INSERT INTO busy SELECT generate_series(1, 100)")
		for _, r := range read(t, src, 10, time.Second) {
			if r.Topic != "beats" {
				t.Fatalf("unexpected record %s", short(t, r))
			}
			var hb struct {
				LSN  uint64 `json:"lsn"`
				TsMs int64  `json:"ts_ms"`
			}
			if err := json.Unmarshal(r.Value, &hb); err != nil || hb.LSN <= start || string(r.Key) != `{"prefix":"pg"}` {
				t.Fatalf("heartbeat %s %s: %v", r.Key, r.Value, err)
			}
			if err := src.(sdk.Committer).Commit(context.Background(), []sdk.Position{r.Position}); err != nil {
				t.Fatal(err)
			}
			waitConfirmed(t, conn, cfg["slot.name"], r.Position)
			beats++
		}
	}
	if got := confirmedLSN(t, conn, cfg["slot.name"]); got <= start {
		t.Errorf("the slot stayed at %d", got)
	}
}
