package pgconnector

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connectors/postgres/internal/pgtest"
	"github.com/tributary-io/tributary/sdk"
	"github.com/tributary-io/tributary/sdk/sdktest"
)

// These benchmarks run the source in-process (no plugin process, no gRPC);
// connectors/postgres/e2e has the same through the host.

const benchRows = 100_000

func benchDrain(b *testing.B, src sdk.Source, n int) {
	got := 0
	for got < n {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		recs, err := src.Read(ctx, 8192)
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			b.Fatal(err)
		}
		got += len(recs)
	}
}

// BenchmarkSnapshotLocal: rows/s of a snapshot of 100,000 rows.
func BenchmarkSnapshotLocal(b *testing.B) {
	srv := pg.Server(b)
	db := srv.NewDatabase(b)
	pgtest.Exec(b, srv.Connect(b, db), fmt.Sprintf(`CREATE TABLE bench (id int PRIMARY KEY, n bigint, name text, at timestamptz);
		INSERT INTO bench SELECT i, i * 7, 'name ' || md5(i::text), '2026-01-01'::timestamptz + i * interval '1 second' FROM generate_series(1, %d) i`, benchRows))
	var total time.Duration
	for i := 0; i < b.N; i++ {
		src := sdktest.OpenSource(b, target, sourceConfig(srv, db, nil), nil)
		start := time.Now()
		benchDrain(b, src, benchRows)
		total += time.Since(start)
		src.Close()
	}
	b.ReportMetric(float64(benchRows*b.N)/total.Seconds(), "rows/s")
}

// BenchmarkStreamingLocal: events/s of 100,000 inserts committed before
// the source starts.
func BenchmarkStreamingLocal(b *testing.B) {
	srv := pg.Server(b)
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db := srv.NewDatabase(b)
		conn := srv.Connect(b, db)
		pgtest.Exec(b, conn, "CREATE TABLE bench (id int PRIMARY KEY, n bigint, name text, at timestamptz)")
		cfg := sourceConfig(srv, db, map[string]string{"snapshot.mode": "never"})
		sdktest.OpenSource(b, target, cfg, nil).Close()
		for from := 1; from <= benchRows; from += 1000 {
			pgtest.Exec(b, conn, fmt.Sprintf(`INSERT INTO bench SELECT i, i * 7, 'name ' || md5(i::text), now() FROM generate_series(%d, %d) i`, from, from+999))
		}
		b.StartTimer()
		start := time.Now()
		src := sdktest.OpenSource(b, target, cfg, nil)
		benchDrain(b, src, benchRows)
		total += time.Since(start)
		src.Close()
	}
	b.ReportMetric(float64(benchRows*b.N)/total.Seconds(), "events/s")
}
