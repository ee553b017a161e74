package pgconnector

import (
	"encoding/hex"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tributary-io/tributary/connectors/postgres/internal/pgtest"
	"github.com/tributary-io/tributary/sdk/sdktest"
)

// invalidSource are the source configs the suite must see rejected, beyond
// the generic ones.
var invalidSource = []sdktest.InvalidConfig{
	{Name: "bad names", Config: map[string]string{"user": "u", "database": "d", "topic.prefix": "a b",
		"slot.name": "Bad-Slot", "tables": "public.[", "tables.exclude": "noschema", "publication.name": ""},
		Fields: []string{"topic.prefix", "slot.name", "tables", "tables.exclude", "publication.name"}},
	{Name: "bad values", Config: map[string]string{"user": "u", "database": "d", "topic.prefix": "p",
		"port": "0", "sslmode": "sometimes", "snapshot.mode": "always", "snapshot.fetch.size": "0", "heartbeat.interval": "-1s", "status.interval": "1ms"},
		Fields: []string{"port", "sslmode", "snapshot.mode", "snapshot.fetch.size", "heartbeat.interval", "status.interval"}},
}

// TestSourceConformance runs the sdktest source suite twice: with the
// records of each Produce call in one transaction (reopening inside a
// transaction), and with one transaction per row.
//
// The suite commits records 0-3 and then reopens at record 0: a slot
// cannot replay what it confirmed, so this relies on confirmation being
// sent only every status.interval (10s by default, far longer than the
// suite's reopen); TestResumeBehindConfirmed checks the clear error a
// real reopen behind the confirmed LSN gets.
func TestSourceConformance(t *testing.T) {
	t.Parallel()
	for _, perRow := range []bool{false, true} {
		t.Run(fmt.Sprintf("txn-per-row=%v", perRow), func(t *testing.T) {
			sdktest.RunSourceSuite(t, target, sdktest.SourceSuite{
				Setup: func(t *testing.T) sdktest.SourceFixture {
					srv := pg.Server(t)
					db := srv.NewDatabase(t)
					conn := srv.Connect(t, db)
					pgtest.Exec(t, conn, "CREATE TABLE items (id serial PRIMARY KEY, label text NOT NULL)")
					var n atomic.Int64
					return sdktest.SourceFixture{
						Config: sourceConfig(srv, db, map[string]string{"status.interval": "10s"}),
						Produce: func(t *testing.T, count int) {
							rows := make([]string, count)
							for i := range rows {
								rows[i] = fmt.Sprintf("INSERT INTO items (label) VALUES ('item %d')", n.Add(1))
							}
							sep := "; "
							if perRow {
								sep = "; COMMIT; BEGIN; "
							}
							pgtest.Exec(t, conn, "BEGIN; "+strings.Join(rows, sep)+"; COMMIT")
						},
					}
				},
				Invalid: invalidSource,
			})
		})
	}
}

// TestSinkConformance runs the sdktest sink suite with value.format=raw
// and insert.mode=insert: the suite writes the same key and offsets more
// than once and expects every value kept in order, which is appending,
// not upserting (upserts are tested in sink_test.go).
func TestSinkConformance(t *testing.T) {
	t.Parallel()
	sdktest.RunSinkSuite(t, target, sdktest.SinkSuite{
		Setup: func(t *testing.T) sdktest.SinkFixture {
			srv := pg.Server(t)
			db := srv.NewDatabase(t)
			conn := srv.Connect(t, db)
			pgtest.Exec(t, conn, `CREATE TABLE archive (seq bigserial PRIMARY KEY, topic text, partition int, "offset" bigint, key bytea, value bytea, timestamp timestamptz)`)
			cfg := srv.ConnectorConfig(db)
			cfg["table"], cfg["value.format"], cfg["insert.mode"] = "archive", "raw", "insert"
			return sdktest.SinkFixture{
				Config: cfg,
				Written: func(t *testing.T) [][]byte {
					var out [][]byte
					for _, r := range pgtest.Query(t, conn, "SELECT value FROM archive ORDER BY seq") {
						b, err := hex.DecodeString(strings.TrimPrefix(*r[0], `\x`))
						if err != nil {
							t.Fatal(err)
						}
						out = append(out, b)
					}
					return out
				},
			}
		},
		Invalid: []sdktest.InvalidConfig{
			{Name: "raw without table", Config: map[string]string{"user": "u", "database": "d", "value.format": "raw"}, Fields: []string{"table"}},
			{Name: "bad enums", Config: map[string]string{"user": "u", "database": "d", "insert.mode": "merge", "value.format": "avro"}, Fields: []string{"insert.mode", "value.format"}},
		},
	})
}
