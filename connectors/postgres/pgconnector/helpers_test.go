package pgconnector

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connectors/postgres/internal/pgtest"
	"github.com/tributary-io/tributary/sdk"
	"github.com/tributary-io/tributary/sdk/sdktest"
)

var pg pgtest.Main

func TestMain(m *testing.M) { os.Exit(pg.Run(m, pgtest.Options{})) }

var target = sdktest.Local(Plugin())

// slots numbers the replication slots tests create: slots are
// server-wide, databases are not.
var slots atomic.Int64

// sourceConfig is a source config for db on srv with fast timings and a
// slot of its own, plus extra.
func sourceConfig(srv *pgtest.Server, db string, extra map[string]string) map[string]string {
	cfg := srv.ConnectorConfig(db)
	cfg["topic.prefix"] = "pg"
	cfg["slot.name"] = fmt.Sprintf("s%d_%d", os.Getpid(), slots.Add(1))
	cfg["status.interval"] = "100ms"
	cfg["heartbeat.interval"] = "0s"
	maps.Copy(cfg, extra)
	return cfg
}

// event is a decoded event value.
type event struct {
	Before map[string]any `json:"before"`
	After  map[string]any `json:"after"`
	Source struct {
		Connector string `json:"connector"`
		Name      string `json:"name"`
		Snapshot  string `json:"snapshot"`
		DB        string `json:"db"`
		Schema    string `json:"schema"`
		Table     string `json:"table"`
		TxID      *int64 `json:"txId"`
		LSN       uint64 `json:"lsn"`
		TsMs      int64  `json:"ts_ms"`
	} `json:"source"`
	Op   string `json:"op"`
	TsMs int64  `json:"ts_ms"`
}

func decodeEvent(t testing.TB, r sdk.Record) event {
	t.Helper()
	var e event
	dec := json.NewDecoder(bytes.NewReader(r.Value))
	dec.UseNumber()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("event %s: %v", r.Value, err)
	}
	return e
}

// readAll reads n records from src within timeout.
func readAll(t testing.TB, src sdk.Source, n int) []sdk.Record {
	t.Helper()
	return sdktest.ReadN(t, src, n, 0, 30*time.Second)
}

func itoaInt(n int) string { return fmt.Sprint(n) }
