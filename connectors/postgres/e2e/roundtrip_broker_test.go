package e2e

import (
	"cmp"
	"context"
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/connectors/postgres/internal/cdccheck"
	"github.com/tributary-io/tributary/connectors/postgres/internal/pgtest"
)

// TestRoundTripThroughTheBroker runs both halves as the server does: a CDC
// source connector on database A writes the table's changes to a topic
// (exactly once), and a sink connector reads the topic as a consumer group
// (at least once) and upserts into the same table in database B. While a
// writer changes A, the node (broker and worker) is SIGKILLed once and the
// plugin processes (source and sink) twice, at random moments. Once the
// writer stopped and its last change reached B, the tables are equal.
func TestRoundTripThroughTheBroker(t *testing.T) {
	const rows, changes = 5000, 3000
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 17))
	srv := pg.Server(t)
	dbA, dbB := srv.NewDatabase(t), srv.NewDatabase(t)
	a, b := srv.Connect(t, dbA), srv.Connect(t, dbB)
	if err := cdccheck.CreateTable(context.Background(), a, "orders", rows); err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, b, "CREATE TABLE orders (id int PRIMARY KEY, v bigint NOT NULL, payload text)")

	dataDir := t.TempDir()
	n := startNode(t, dataDir, loopbackAddr(t), loopbackAddr(t))
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.kafka))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	_, err = kadm.NewClient(cl).CreateTopics(ctx, 1, 1, nil, "pg.public.orders", "pg.heartbeat", "pg.unused")
	cancel()
	cl.Close()
	if err != nil {
		t.Fatal(err)
	}
	w := cdccheck.StartWriter(srv.Connect(t, dbA), "orders", rows, seed, 2*time.Millisecond)
	defer w.Stop()
	src := sourceConfig(srv, dbA, map[string]string{"snapshot.fetch.size": "500", "heartbeat.interval": "500ms", "status.interval": "200ms"})
	src["plugin"], src["type"], src["topic"] = "postgres", "source", "pg.unused"
	createConnector(t, n.api, "cdc", src)
	sink := srv.ConnectorConfig(dbB)
	sink["plugin"], sink["type"], sink["topics"] = "postgres", "sink", "pg.public.orders"
	createConnector(t, n.api, "copy", sink)

	// Kills at random moments of the first 10 seconds.
	type kill struct {
		at   time.Duration
		node bool
	}
	kills := []kill{{node: true}, {}, {}}
	for i := range kills {
		kills[i].at = time.Duration(rng.Int64N(int64(10 * time.Second)))
	}
	slices.SortFunc(kills, func(x, y kill) int { return cmp.Compare(x.at, y.at) })
	start := time.Now()
	doneKills := map[bool]int{}
	stopped := false
	deadline := start.Add(3 * time.Minute)
	for !(stopped && sameRows(t, a, b, "orders")) {
		if time.Now().After(deadline) {
			t.Fatalf("B never caught up with A in %v (kills %v, writer stopped %v, %s rows in B)",
				time.Since(start), doneKills, stopped, pgtest.QueryValue(t, b, "SELECT count(*) FROM orders"))
		}
		if len(kills) > 0 && time.Since(start) >= kills[0].at {
			if kills[0].node {
				n.kill()
				n = startNode(t, dataDir, n.kafka, n.api)
				doneKills[true]++
				kills = kills[1:]
			} else {
				// Every postgres plugin process: the source's and the sink's.
				killed := false
				for _, pid := range pluginPIDs() {
					killed = syscall.Kill(pid, syscall.SIGKILL) == nil || killed
				}
				if killed {
					doneKills[false]++
					kills = kills[1:]
				}
			}
		}
		if !stopped && len(kills) == 0 && w.Seq() >= changes {
			if err := w.Stop(); err != nil {
				t.Fatal(err)
			}
			pgtest.Exec(t, a, "INSERT INTO orders VALUES (-1, 0, 'end')")
			stopped = true
		}
		time.Sleep(100 * time.Millisecond)
	}
	compareTables(t, a, b, "orders")
	if doneKills[true] != 1 || doneKills[false] != 2 {
		t.Errorf("kills done: %d of the node, %d of the plugins; want 1 and 2", doneKills[true], doneKills[false])
	}
	t.Logf("%d writer changes, %d node kills, %d plugin kills; tables equal after %v with %s rows",
		w.Seq(), doneKills[true], doneKills[false], time.Since(start).Round(time.Millisecond), pgtest.QueryValue(t, b, "SELECT count(*) FROM orders"))
}

// sameRows reports whether table has the same rows in both databases.
func sameRows(t testing.TB, a, b *pgconn.PgConn, table string) bool {
	q := "SELECT t::text FROM " + table + " t ORDER BY id"
	ra, rb := pgtest.Query(t, a, q), pgtest.Query(t, b, q)
	return slices.EqualFunc(ra, rb, func(x, y []*string) bool { return *x[0] == *y[0] })
}
