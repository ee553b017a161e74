package pgconnector

import (
	"fmt"
	"log/slog"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/tributary-io/tributary/connectors/postgres/pgoutput"
	"github.com/tributary-io/tributary/sdk"
)

// Version is the connector's semantic version.
const Version = "1.0.0"

// Plugin returns the postgres connector's declaration.
func Plugin() sdk.Plugin {
	return sdk.Plugin{
		Name:        "postgres",
		Version:     Version,
		Description: "PostgreSQL change data capture (logical replication, Debezium envelope) and upsert sink",
		Source: &sdk.SourceDef{
			Spec: sourceSpec(),
			New:  func(env sdk.Env) sdk.Source { return newSource(logger(env)) },
		},
		Sink: &sdk.SinkDef{
			Spec:     sinkSpec(),
			Validate: validateSink,
			New:      func(env sdk.Env) sdk.Sink { return newSink(logger(env)) },
		},
	}
}

func logger(env sdk.Env) *slog.Logger {
	if env.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return env.Logger
}

// connectionFields are the fields every PostgreSQL connection needs.
func connectionFields() []sdk.Field {
	return []sdk.Field{
		{Name: "host", Type: sdk.String, Default: "localhost", Description: "PostgreSQL server host name or address"},
		{Name: "port", Type: sdk.Int, Default: "5432", Min: sdk.Limit(1), Max: sdk.Limit(65535), Description: "PostgreSQL server port"},
		{Name: "user", Type: sdk.String, Required: true, Description: "user to connect as; the source needs the REPLICATION attribute (or superuser)"},
		{Name: "password", Type: sdk.String, Secret: true, Description: "the user's password; empty uses PGPASSWORD or ~/.pgpass"},
		{Name: "database", Type: sdk.String, Required: true, Description: "database to connect to"},
		{Name: "sslmode", Type: sdk.String, Default: "prefer", Enum: []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"},
			Description: "TLS mode, as libpq's sslmode"},
		{Name: "connect.timeout", Type: sdk.Duration, Default: "10s", Min: sdk.Limit(int64(100 * time.Millisecond)),
			Description: "bound on establishing each connection and on setup statements"},
	}
}

var topicPrefixRE = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)

func sourceSpec() sdk.ConfigSpec {
	fields := connectionFields()
	fields = append(fields,
		sdk.Field{Name: "topic.prefix", Type: sdk.String, Required: true,
			Description: "events of table s.t go to topic <topic.prefix>.s.t",
			Check: func(v any) error {
				if !topicPrefixRE.MatchString(v.(string)) {
					return fmt.Errorf("want letters, digits, '.', '_' and '-'")
				}
				return nil
			}},
		sdk.Field{Name: "tables", Type: sdk.List, Default: "public.*",
			Description: "tables to capture, as schema.table patterns (* matches any run of characters, ? one); a name without a pattern must exist",
			Check:       checkPatterns},
		sdk.Field{Name: "tables.exclude", Type: sdk.List,
			Description: "schema.table patterns of tables not to capture, even if tables matches them", Check: checkPatterns},
		sdk.Field{Name: "publication.name", Type: sdk.String, Default: "tributary",
			Description: "publication listing the captured tables", Check: nonEmpty},
		sdk.Field{Name: "publication.autocreate", Type: sdk.Bool, Default: "true",
			Description: "create the publication when missing and set its tables to the captured ones; when false it must exist and list them"},
		sdk.Field{Name: "slot.name", Type: sdk.String, Default: "tributary",
			Description: "logical replication slot, created when missing; one connector per slot",
			Check:       func(v any) error { return pgoutput.CheckSlotName(v.(string)) }},
		sdk.Field{Name: "snapshot.mode", Type: sdk.String, Default: "initial", Enum: []string{"initial", "never"},
			Description: "initial: read every captured row (op r) before streaming when the connector has no position yet; never: stream changes only"},
		sdk.Field{Name: "snapshot.fetch.size", Type: sdk.Int, Default: "2048", Min: sdk.Limit(1), Max: sdk.Limit(1 << 20),
			Description: "rows fetched per round trip while snapshotting"},
		sdk.Field{Name: "tombstones.on.delete", Type: sdk.Bool, Default: "true",
			Description: "follow each delete event with a tombstone (same key, null value) so compacted topics drop the row"},
		sdk.Field{Name: "heartbeat.interval", Type: sdk.Duration, Default: "10s", Min: sdk.Limit(0),
			Description: "while no captured table changes, emit a heartbeat record this often when the server's WAL moved, so the slot advances and WAL does not pile up; 0 disables"},
		sdk.Field{Name: "heartbeat.topic", Type: sdk.String,
			Description: "topic of heartbeat records; empty means <topic.prefix>.heartbeat"},
		sdk.Field{Name: "status.interval", Type: sdk.Duration, Default: "10s", Min: sdk.Limit(int64(10 * time.Millisecond)), Max: sdk.Limit(int64(time.Hour)),
			Description: "how often the committed position is confirmed to PostgreSQL (the slot's confirmed_flush_lsn)"},
	)
	return sdk.ConfigSpec{Fields: fields}
}

func sinkSpec() sdk.ConfigSpec {
	fields := connectionFields()
	fields = append(fields,
		sdk.Field{Name: "table", Type: sdk.String,
			Description: "target table, [schema.]name; empty: the source.schema and source.table of Debezium events, else the last dot-separated part of the topic"},
		sdk.Field{Name: "insert.mode", Type: sdk.String, Default: "upsert", Enum: []string{"upsert", "insert"},
			Description: "upsert: INSERT ... ON CONFLICT (key columns) DO UPDATE, idempotent; insert: plain INSERT, each record a new row"},
		sdk.Field{Name: "value.format", Type: sdk.String, Default: "json", Enum: []string{"json", "raw"},
			Description: "json: a Debezium envelope (the after image is written) or a flat JSON object of columns; raw: columns topic, partition, offset, key, value, timestamp"},
		sdk.Field{Name: "delete.enabled", Type: sdk.Bool, Default: "true",
			Description: "delete the row of a tombstone's key and of delete events (op d)"},
		sdk.Field{Name: "truncate.enabled", Type: sdk.Bool, Default: "false",
			Description: "truncate the table on truncate events (op t)"},
		sdk.Field{Name: "auto.create", Type: sdk.Bool, Default: "false",
			Description: "create a missing table from the first record's shape, primary key = the key's fields"},
		sdk.Field{Name: "auto.evolve", Type: sdk.Bool, Default: "false",
			Description: "add columns for fields the table lacks"},
	)
	return sdk.ConfigSpec{Fields: fields}
}

func validateSink(c sdk.Config) []sdk.Problem {
	if c.String("value.format") == "raw" && c.String("table") == "" {
		return []sdk.Problem{{Field: "table", Reason: "value.format=raw needs a table: raw records carry no table name"}}
	}
	return nil
}

func checkPatterns(v any) error {
	for _, p := range v.([]string) {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("pattern %q: %v", p, err)
		}
		if !strings.Contains(p, ".") {
			return fmt.Errorf("pattern %q: want schema.table", p)
		}
	}
	return nil
}

func nonEmpty(v any) error {
	if v.(string) == "" {
		return fmt.Errorf("must not be empty")
	}
	return nil
}
