package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/connectors/postgres/internal/pgtest"
)

// brokerCDC is a node running the CDC connector "cdc" and a read_committed
// consumer of its events' topic.
type brokerCDC struct {
	node    *node
	cl      *kgo.Client
	slot    string
	created time.Time // when the connector was created
}

// brokerConnector starts a node, creates topic for the events, and starts
// the CDC connector on db with extra config.
func brokerConnector(b *testing.B, srv *pgtest.Server, db, topic string, extra map[string]string) *brokerCDC {
	b.Helper()
	n := startNode(b, b.TempDir(), loopbackAddr(b), loopbackAddr(b))
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.kafka), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopics(ctx, 1, 1, nil, topic, "pg.unused"); err != nil {
		b.Fatal(err)
	}
	cfg := sourceConfig(srv, db, extra)
	cfg["plugin"], cfg["type"], cfg["topic"] = "postgres", "source", "pg.unused"
	created := time.Now()
	createConnector(b, n.api, "cdc", cfg)
	return &brokerCDC{node: n, cl: cl, slot: cfg["slot.name"], created: created}
}

// warmUp waits until the connector streams changes of table (which has
// columns id int and payload text): rows written before its slot existed
// never arrive, so it writes rows with negative ids until one does.
func (c *brokerCDC) warmUp(b *testing.B, conn *pgconn.PgConn, table string) {
	b.Helper()
	for k := 1; ; k++ {
		if k > 60 {
			b.Fatal("the connector streamed nothing in a minute")
		}
		pgtest.Exec(b, conn, fmt.Sprintf("INSERT INTO %s (id, payload) VALUES (%d, 'warm-up')", table, -k))
		pctx, pcancel := context.WithTimeout(context.Background(), time.Second)
		got := c.cl.PollFetches(pctx).NumRecords()
		pcancel()
		if got > 0 {
			return
		}
	}
}

// streamingConnector runs create (which makes table, with columns id int
// and payload text) in a new database and starts a connector that streams
// the table's changes without a snapshot; it returns once changes arrive,
// with the connection create ran on.
func streamingConnector(b *testing.B, table, create string) (*pgconn.PgConn, *brokerCDC) {
	b.Helper()
	srv := pg.Server(b)
	db := srv.NewDatabase(b)
	conn := srv.Connect(b, db)
	pgtest.Exec(b, conn, create)
	c := brokerConnector(b, srv, db, "pg.public."+table, map[string]string{"snapshot.mode": "never"})
	c.warmUp(b, conn, table)
	return conn, c
}

// setPaused pauses or resumes the connector; pausing waits until its
// replication connection is gone (the slot is inactive).
func (c *brokerCDC) setPaused(b *testing.B, conn *pgconn.PgConn, paused bool) {
	b.Helper()
	action := "resume"
	if paused {
		action = "pause"
	}
	req, err := http.NewRequest(http.MethodPut, "http://"+c.node.api+"/connectors/cdc/"+action, nil)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		b.Fatalf("%s connector: %s", action, resp.Status)
	}
	if paused {
		waitUntil(b, 30*time.Second, "the paused connector to leave its slot", func() bool {
			return pgtest.QueryValue(b, conn, "SELECT active::text FROM pg_replication_slots WHERE slot_name = $1", c.slot) == "false"
		})
	}
}

// readN polls until n records are readable, for at most five minutes,
// and returns when the first poll returned some.
func (c *brokerCDC) readN(b *testing.B, n int) (first time.Time) {
	b.Helper()
	got := 0
	deadline := time.Now().Add(5 * time.Minute)
	for got < n {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d records", got, n)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		got += c.cl.PollFetches(ctx).NumRecords()
		cancel()
		if got > 0 && first.IsZero() {
			first = time.Now()
		}
	}
	return first
}

// BenchmarkBrokerSnapshot: rows per second from creating the connector
// (REST call, task start, plugin start, slot creation included) to
// 100,000 snapshot rows readable (read_committed) in the topic.
func BenchmarkBrokerSnapshot(b *testing.B) {
	srv, db := benchTable(b)
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		c := brokerConnector(b, srv, db, "pg.public.bench", nil)
		b.StartTimer()
		c.readN(b, benchRows)
		total += time.Since(c.created)
	}
	b.ReportMetric(float64(benchRows*b.N)/total.Seconds(), "rows/s")
}

// BenchmarkBrokerStreaming: 100,000 inserts, committed in transactions of
// 1,000 while the connector was paused, streamed to the topic once it is
// resumed. Reports events per second from resuming (task and plugin start
// included) to the last being readable with read_committed, the same from
// the first event readable on (the streaming rate alone), and the time
// from resuming to the first event.
func BenchmarkBrokerStreaming(b *testing.B) {
	conn, c := streamingConnector(b, "bench", "CREATE TABLE bench (id int PRIMARY KEY, payload text, n bigint, at timestamptz)")
	var total, streaming, startup time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		c.setPaused(b, conn, true)
		base := i * benchRows
		for from := base + 1; from <= base+benchRows; from += 1000 {
			pgtest.Exec(b, conn, fmt.Sprintf(`INSERT INTO bench SELECT i, 'name ' || md5(i::text), i * 7, now() FROM generate_series(%d, %d) i`, from, from+999))
		}
		b.StartTimer()
		start := time.Now()
		c.setPaused(b, conn, false)
		first := c.readN(b, benchRows)
		total += time.Since(start)
		streaming += time.Since(first)
		startup += first.Sub(start)
	}
	b.ReportMetric(float64(benchRows*b.N)/total.Seconds(), "events/s")
	b.ReportMetric(float64(benchRows*b.N)/streaming.Seconds(), "events/s-streaming")
	b.ReportMetric(float64(startup.Milliseconds())/float64(b.N), "ms-startup")
}

// BenchmarkBrokerLag: single-row transactions at 1,000 per second; the
// lag of each from the moment its INSERT was sent to the record being
// readable with read_committed in the topic. Reports the median and p99.
func BenchmarkBrokerLag(b *testing.B) {
	conn, c := streamingConnector(b, "lag", "CREATE TABLE lag (id int PRIMARY KEY, payload text); SET synchronous_commit = on")
	measureLag(b, conn, func(ctx context.Context) ([][]byte, error) {
		var values [][]byte
		c.cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { values = append(values, r.Value) })
		return values, nil
	})
}
