package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/connectors/postgres/internal/pgtest"
)

// brokerConnector starts a node, creates topic for the events, starts the
// CDC connector on db with extra config, and returns a read_committed
// consumer of the topic and the time the connector was created.
func brokerConnector(b *testing.B, srv *pgtest.Server, db, topic string, extra map[string]string) (*kgo.Client, time.Time) {
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
	body, _ := json.Marshal(map[string]any{"name": "cdc", "config": cfg})
	created := time.Now()
	resp, err := http.Post("http://"+n.api+"/connectors", "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b.Fatalf("create connector: %s", resp.Status)
	}
	return cl, created
}

// BenchmarkBrokerSnapshot: rows per second from creating the connector
// (REST call, task start, plugin start, slot creation included) to
// 100,000 snapshot rows readable (read_committed) in the topic.
func BenchmarkBrokerSnapshot(b *testing.B) {
	srv, db := benchTable(b)
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		cl, start := brokerConnector(b, srv, db, "pg.public.bench", nil)
		b.StartTimer()
		got := 0
		deadline := time.Now().Add(5 * time.Minute)
		for got < benchRows {
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d rows", got, benchRows)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			got += cl.PollFetches(ctx).NumRecords()
			cancel()
		}
		total += time.Since(start)
	}
	b.ReportMetric(float64(benchRows*b.N)/total.Seconds(), "rows/s")
}

// BenchmarkBrokerLag: single-row transactions at 1,000 per second; the
// lag of each from the moment its INSERT was sent to the record being
// readable with read_committed in the topic. Reports the median and p99.
func BenchmarkBrokerLag(b *testing.B) {
	srv := pg.Server(b)
	db := srv.NewDatabase(b)
	conn := srv.Connect(b, db)
	pgtest.Exec(b, conn, "CREATE TABLE lag (id int PRIMARY KEY, payload text); SET synchronous_commit = on")
	cl, _ := brokerConnector(b, srv, db, "pg.public.lag", map[string]string{"snapshot.mode": "never"})
	// Wait until the connector streams: rows written before its slot
	// existed never arrive, so write warm-up rows until one does.
	for k := 1; ; k++ {
		if k > 60 {
			b.Fatal("the connector streamed nothing in a minute")
		}
		pgtest.Exec(b, conn, fmt.Sprintf("INSERT INTO lag VALUES (%d, 'warm-up')", -k))
		pctx, pcancel := context.WithTimeout(context.Background(), time.Second)
		got := cl.PollFetches(pctx).NumRecords()
		pcancel()
		if got > 0 {
			break
		}
	}
	measureLag(b, conn, func(ctx context.Context) ([][]byte, error) {
		var values [][]byte
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { values = append(values, r.Value) })
		return values, nil
	})
}
