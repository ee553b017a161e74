package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connectors/postgres/internal/pgtest"
	"github.com/tributary-io/tributary/platform/nodetest"
	"github.com/tributary-io/tributary/plugins"
	"github.com/tributary-io/tributary/sdk"
)

var (
	pg pgtest.Main
	// bin is the tributary binary, for the through-the-broker tests, with
	// the postgres plugin in pluginDir.
	bin       *nodetest.Binary
	pluginDir string
)

func TestMain(m *testing.M) {
	bin = nodetest.MustBuild(nodetest.Plugins("postgres"))
	pluginDir = bin.PluginDir
	code := pg.Run(m, pgtest.Options{})
	bin.Remove()
	os.Exit(code)
}

// registry is a plugins.Registry over the plugin dir, with fast restarts
// and the host's log in the test's log.
func registry(t testing.TB) *plugins.Registry {
	t.Helper()
	reg, err := plugins.NewRegistry(plugins.Config{
		Dir:               pluginDir,
		Logger:            slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
		MaxWait:           500 * time.Millisecond,
		HeartbeatInterval: 500 * time.Millisecond,
		HeartbeatTimeout:  2 * time.Second,
		Backoff:           plugins.ExponentialBackoff{Initial: 20 * time.Millisecond, Max: 500 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Discover(context.Background()); err != nil {
		t.Fatal(err)
	}
	return reg
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

var slots atomic.Int64

// sourceConfig is a source config for db with a slot of its own.
func sourceConfig(srv *pgtest.Server, db string, extra map[string]string) map[string]string {
	cfg := srv.ConnectorConfig(db)
	cfg["topic.prefix"] = "pg"
	cfg["slot.name"] = fmt.Sprintf("e%d_%d", os.Getpid(), slots.Add(1))
	cfg["status.interval"] = "100ms"
	cfg["heartbeat.interval"] = "0s"
	for k, v := range extra {
		cfg[k] = v
	}
	return cfg
}

func openSource(t testing.TB, reg *plugins.Registry, raw map[string]string) *plugins.Source {
	t.Helper()
	ctx := context.Background()
	cfg, err := reg.ParseConfig(ctx, "postgres", sdk.KindSource, raw)
	if err != nil {
		t.Fatal(err)
	}
	src, err := reg.NewSource("postgres")
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Open(ctx, cfg, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

func openSink(t testing.TB, reg *plugins.Registry, raw map[string]string) *plugins.Sink {
	t.Helper()
	ctx := context.Background()
	cfg, err := reg.ParseConfig(ctx, "postgres", sdk.KindSink, raw)
	if err != nil {
		t.Fatal(err)
	}
	sink, err := reg.NewSink("postgres")
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Open(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	return sink
}

func positions(recs []sdk.Record) []sdk.Position {
	out := make([]sdk.Position, len(recs))
	for i, r := range recs {
		out[i] = r.Position
	}
	return out
}
