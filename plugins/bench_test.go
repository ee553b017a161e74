package plugins

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/tributary-io/tributary/plugins/internal/echo"
	"github.com/tributary-io/tributary/sdk"
)

// The same echo connector code, in-process and behind the plugin boundary
// (a separate process, gRPC over a unix socket). b.N counts records; the
// records/s metric of the two runs gives the cost of the boundary.
//
//	go test -run '^$' -bench . ./plugins/

const benchBatch = 1000

func benchConfig(b *testing.B) Config {
	dir := b.TempDir()
	install(b, bins.echo, dir, "echo")
	return Config{Dir: dir, Logger: slog.New(slog.DiscardHandler)}
}

func benchParse(b *testing.B, kind sdk.Kind, raw map[string]string) sdk.Config {
	p := echo.Plugin("1.0.0")
	cfg, err := p.ParseConfig(kind, raw)
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}

func drainSource(b *testing.B, src sdk.Source) {
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for n := 0; n < b.N; {
		recs, err := src.Read(ctx, min(benchBatch, b.N-n))
		if err != nil {
			b.Fatal(err)
		}
		n += len(recs)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
}

func BenchmarkSourceInProcess(b *testing.B) {
	src := echo.Plugin("1.0.0").Source.New(sdk.Env{Logger: slog.New(slog.DiscardHandler)})
	if err := src.Open(context.Background(), benchParse(b, sdk.KindSource, map[string]string{"value.bytes": "100"}), nil); err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	drainSource(b, src)
}

func BenchmarkSourcePlugin(b *testing.B) {
	reg, err := NewRegistry(benchConfig(b))
	if err != nil {
		b.Fatal(err)
	}
	if err := reg.Discover(context.Background()); err != nil {
		b.Fatal(err)
	}
	src, err := reg.NewSource("echo")
	if err != nil {
		b.Fatal(err)
	}
	if err := src.Open(context.Background(), benchParse(b, sdk.KindSource, map[string]string{"value.bytes": "100"}), nil); err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	drainSource(b, src)
}

func fillSink(b *testing.B, sink sdk.Sink) {
	ctx := context.Background()
	batch := make([]sdk.Record, benchBatch)
	for i := range batch {
		batch[i] = sdk.Record{Key: []byte("k"), Value: echo.Value("rec", uint64(i), 100), Topic: "t", Offset: int64(i)}
	}
	b.ResetTimer()
	start := time.Now()
	for n := 0; n < b.N; n += benchBatch {
		if err := sink.Write(ctx, batch[:min(benchBatch, b.N-n)]); err != nil {
			b.Fatal(err)
		}
	}
	// One flush at the end: the benchmark measures the boundary, not fsync.
	if err := sink.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
}

func BenchmarkSinkInProcess(b *testing.B) {
	sink := echo.Plugin("1.0.0").Sink.New(sdk.Env{})
	cfg := benchParse(b, sdk.KindSink, map[string]string{"path": filepath.Join(b.TempDir(), "out")})
	if err := sink.Open(context.Background(), cfg); err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	fillSink(b, sink)
}

func BenchmarkSinkPlugin(b *testing.B) {
	reg, err := NewRegistry(benchConfig(b))
	if err != nil {
		b.Fatal(err)
	}
	if err := reg.Discover(context.Background()); err != nil {
		b.Fatal(err)
	}
	sink, err := reg.NewSink("echo")
	if err != nil {
		b.Fatal(err)
	}
	cfg := benchParse(b, sdk.KindSink, map[string]string{"path": filepath.Join(b.TempDir(), "out")})
	if err := sink.Open(context.Background(), cfg); err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	fillSink(b, sink)
}
