package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tributary-io/tributary/connectors/postgres/internal/pgtest"
	"github.com/tributary-io/tributary/plugins"
	"github.com/tributary-io/tributary/sdk"
)

// The benchmarks run the plugin through the host, as the server does, and
// count records as they reach the host (a Read returned them).

// drain reads n records from src (committing them) and returns them.
func drain(b *testing.B, src *plugins.Source, n int, keep bool) []sdk.Record {
	b.Helper()
	var out []sdk.Record
	got := 0
	deadline := time.Now().Add(5 * time.Minute)
	for got < n {
		if time.Now().After(deadline) {
			b.Fatalf("read %d of %d records", got, n)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		recs, err := src.Read(ctx, 8192)
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			b.Fatal(err)
		}
		if len(recs) > 0 {
			if err := src.Commit(context.Background(), positions(recs[len(recs)-1:])); err != nil {
				b.Fatal(err)
			}
		}
		got += len(recs)
		if keep {
			out = append(out, recs...)
		}
	}
	return out
}

const benchRows = 100_000

// benchTable creates a table of benchRows rows in a new database.
func benchTable(b *testing.B) (*pgtest.Server, string) {
	srv := pg.Server(b)
	db := srv.NewDatabase(b)
	pgtest.Exec(b, srv.Connect(b, db), fmt.Sprintf(`CREATE TABLE bench (id int PRIMARY KEY, n bigint, name text, at timestamptz);
		INSERT INTO bench SELECT i, i * 7, 'name ' || md5(i::text), '2026-01-01'::timestamptz + i * interval '1 second' FROM generate_series(1, %d) i`, benchRows))
	return srv, db
}

// BenchmarkSnapshot: rows per second of an initial snapshot of 100,000
// rows (int, bigint, text, timestamptz).
func BenchmarkSnapshot(b *testing.B) {
	srv, db := benchTable(b)
	reg := registry(b)
	var total time.Duration
	for i := 0; i < b.N; i++ {
		src := openSource(b, reg, sourceConfig(srv, db, nil))
		start := time.Now()
		drain(b, src, benchRows, false)
		total += time.Since(start)
		src.Close()
	}
	b.ReportMetric(float64(benchRows*b.N)/total.Seconds(), "rows/s")
}

// BenchmarkStreaming: events per second streamed from 100,000 inserts
// committed (in transactions of 1,000) before the source starts.
func BenchmarkStreaming(b *testing.B) {
	srv := pg.Server(b)
	reg := registry(b)
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db := srv.NewDatabase(b)
		conn := srv.Connect(b, db)
		pgtest.Exec(b, conn, "CREATE TABLE bench (id int PRIMARY KEY, n bigint, name text, at timestamptz)")
		cfg := sourceConfig(srv, db, map[string]string{"snapshot.mode": "never"})
		src := openSource(b, reg, cfg) // creates the slot
		src.Close()
		for from := 1; from <= benchRows; from += 1000 {
			pgtest.Exec(b, conn, fmt.Sprintf(`INSERT INTO bench SELECT i, i * 7, 'name ' || md5(i::text), now() FROM generate_series(%d, %d) i`, from, from+999))
		}
		b.StartTimer()
		start := time.Now()
		src = openSource(b, reg, cfg)
		drain(b, src, benchRows, false)
		total += time.Since(start)
		src.Close()
	}
	b.ReportMetric(float64(benchRows*b.N)/total.Seconds(), "events/s")
}

// BenchmarkLag: single-row transactions at 1,000 per second; the lag of
// each from the moment its INSERT was sent (an upper bound of its commit
// time) to the record reaching the host. Reports the median and the 99th
// percentile.
func BenchmarkLag(b *testing.B) {
	srv := pg.Server(b)
	db := srv.NewDatabase(b)
	conn := srv.Connect(b, db)
	// Changes reach logical decoding once their WAL is flushed: commit
	// synchronously, as production servers do (pgtest turns it off).
	pgtest.Exec(b, conn, "CREATE TABLE lag (id int PRIMARY KEY, payload text); SET synchronous_commit = on")
	src := openSource(b, registry(b), sourceConfig(srv, db, map[string]string{"snapshot.mode": "never"}))
	measureLag(b, conn, func(ctx context.Context) ([][]byte, error) {
		recs, err := src.Read(ctx, 1000)
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		if len(recs) > 0 {
			if err := src.Commit(context.Background(), positions(recs[len(recs)-1:])); err != nil {
				return nil, err
			}
		}
		values := make([][]byte, len(recs))
		for i, r := range recs {
			values[i] = r.Value
		}
		return values, nil
	})
}

// measureLag inserts one row per millisecond into table lag (ids 0..n-1, n
// at least 200 and b.N) from its own goroutine, and calls poll, with a
// one-second context each time, until every row's change event has arrived.
// A row's lag runs from its INSERT being sent to the poll that returned its
// event. Values that are tombstones or name another id (warm-up rows have
// negative ids) are skipped; a value that is not a change event fails b.
// Reports the median and the 99th percentile.
func measureLag(b *testing.B, conn *pgconn.PgConn, poll func(ctx context.Context) ([][]byte, error)) {
	n := max(b.N, 200)
	sent := make([]atomic.Int64, n)
	var wg sync.WaitGroup
	writeErr := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); wg.Wait() }()
	b.ResetTimer()
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for i := 0; i < n; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			sent[i].Store(time.Now().UnixNano())
			if _, err := conn.Exec(ctx, fmt.Sprintf("INSERT INTO lag VALUES (%d, 'x')", i)).ReadAll(); err != nil {
				writeErr <- err
				return
			}
		}
	}()
	lags := make([]time.Duration, 0, n)
	deadline := time.Now().Add(5 * time.Minute)
	for len(lags) < n {
		select {
		case err := <-writeErr:
			b.Fatal(err)
		default:
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d rows arrived", len(lags), n)
		}
		pctx, pcancel := context.WithTimeout(context.Background(), time.Second)
		values, err := poll(pctx)
		pcancel()
		now := time.Now().UnixNano()
		if err != nil {
			b.Fatal(err)
		}
		for _, v := range values {
			if v == nil {
				continue
			}
			var ev struct{ After struct{ ID int } }
			if err := json.Unmarshal(v, &ev); err != nil {
				b.Fatalf("change event %q: %v", v, err)
			}
			if ev.After.ID >= 0 && ev.After.ID < n {
				lags = append(lags, time.Duration(now-sent[ev.After.ID].Load()))
			}
		}
	}
	b.StopTimer()
	slices.Sort(lags)
	b.ReportMetric(float64(lags[len(lags)/2].Microseconds())/1000, "ms-median")
	b.ReportMetric(float64(lags[len(lags)*99/100].Microseconds())/1000, "ms-p99")
}
