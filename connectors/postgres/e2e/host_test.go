package e2e

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connectors/postgres/internal/pgtest"
	"github.com/tributary-io/tributary/plugins"
	"github.com/tributary-io/tributary/sdk"
	"github.com/tributary-io/tributary/sdk/sdktest"
)

// registryTarget runs the sdktest suites against the plugin process.
type registryTarget struct{ reg *plugins.Registry }

func (r registryTarget) Spec(kind sdk.Kind) (sdk.ConfigSpec, bool) {
	m, _ := r.reg.Plugin("postgres")
	return m.Spec(kind)
}

func (r registryTarget) Validate(ctx context.Context, kind sdk.Kind, raw map[string]string) ([]sdk.Problem, error) {
	return r.reg.Validate(ctx, "postgres", kind, raw)
}

func (r registryTarget) NewSource() (sdk.Source, error) { return r.reg.NewSource("postgres") }
func (r registryTarget) NewSink() (sdk.Sink, error)     { return r.reg.NewSink("postgres") }

// TestConformanceOverTheWire runs the source and sink suites against the
// plugin binary through the host.
func TestConformanceOverTheWire(t *testing.T) {
	srv := pg.Server(t)
	target := registryTarget{registry(t)}
	t.Run("source", func(t *testing.T) {
		sdktest.RunSourceSuite(t, target, sdktest.SourceSuite{
			Setup: func(t *testing.T) sdktest.SourceFixture {
				db := srv.NewDatabase(t)
				conn := srv.Connect(t, db)
				pgtest.Exec(t, conn, "CREATE TABLE items (id serial PRIMARY KEY, label text)")
				var n atomic.Int64
				return sdktest.SourceFixture{
					Config: sourceConfig(srv, db, map[string]string{"status.interval": "10s"}),
					Produce: func(t *testing.T, count int) {
						stmts := make([]string, count)
						for i := range stmts {
							stmts[i] = fmt.Sprintf("INSERT INTO items (label) VALUES ('item %d')", n.Add(1))
						}
						pgtest.Exec(t, conn, "BEGIN; "+strings.Join(stmts, "; ")+"; COMMIT")
					},
				}
			},
			Timeout: 30 * time.Second,
		})
	})
	t.Run("sink", func(t *testing.T) {
		sdktest.RunSinkSuite(t, target, sdktest.SinkSuite{
			Setup: func(t *testing.T) sdktest.SinkFixture {
				db := srv.NewDatabase(t)
				conn := srv.Connect(t, db)
				pgtest.Exec(t, conn, `CREATE TABLE archive (seq bigserial PRIMARY KEY, topic text, partition int, "offset" bigint, key bytea, value bytea, timestamp timestamptz)`)
				cfg := srv.ConnectorConfig(db)
				cfg["table"], cfg["value.format"], cfg["insert.mode"] = "archive", "raw", "insert"
				return sdktest.SinkFixture{Config: cfg, Written: func(t *testing.T) [][]byte {
					var out [][]byte
					for _, r := range pgtest.Query(t, conn, "SELECT value FROM archive ORDER BY seq") {
						b, err := hex.DecodeString(strings.TrimPrefix(*r[0], `\x`))
						if err != nil {
							t.Fatal(err)
						}
						out = append(out, b)
					}
					return out
				}}
			},
		})
	})
}

// TestErrorsThroughTheHost: a bad setup's error, with its fix, reaches the
// host; invalid configs are rejected field by field before anything runs.
func TestErrorsThroughTheHost(t *testing.T) {
	srv := pg.Server(t)
	db := srv.NewDatabase(t)
	pgtest.Exec(t, srv.Connect(t, db), "CREATE TABLE t (id int PRIMARY KEY)")
	reg := registry(t)
	ctx := context.Background()
	cases := []struct {
		name  string
		extra map[string]string
		want  []string
	}{
		{"wrong password", map[string]string{"password": "wrong"}, []string{"password was rejected", "check the connector's password"}},
		{"missing table", map[string]string{"tables": "public.t,public.nope"}, []string{"public.nope", "does not exist", "remove it from tables"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := reg.ParseConfig(ctx, "postgres", sdk.KindSource, withConfig(sourceConfig(srv, db, nil), c.extra))
			if err != nil {
				t.Fatal(err)
			}
			src, err := reg.NewSource("postgres")
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			err = src.Open(ctx, cfg, nil)
			if !errors.Is(err, plugins.ErrPluginFailed) {
				t.Fatalf("open: %v", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	_, err := reg.ParseConfig(ctx, "postgres", sdk.KindSource, map[string]string{"user": "u", "slot.name": "Bad", "snapshot.mode": "sometimes"})
	for _, f := range []string{"database", "topic.prefix", "slot.name", "snapshot.mode"} {
		if err == nil || !strings.Contains(err.Error(), `"`+f+`"`) {
			t.Errorf("config error %v does not name %s", err, f)
		}
	}
}

func withConfig(base, extra map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}
