package pgconnector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tributary-io/tributary/connectors/postgres/pgtypes"
	"github.com/tributary-io/tributary/sdk"
)

// Sink writes records to PostgreSQL tables. See the package documentation.
type Sink struct {
	log *slog.Logger

	conn       connSettings
	table      string
	upsert     bool
	raw        bool
	deletes    bool
	truncates  bool
	autoCreate bool
	autoEvolve bool

	pg     *pgconn.PgConn
	cat    *catalog
	tables map[string]*sinkTable // by the name records resolve to
	sql    map[string]string     // statement text by shape
}

var _ sdk.Sink = (*Sink)(nil)

func newSink(log *slog.Logger) *Sink { return &Sink{log: log} }

// Open connects.
func (s *Sink) Open(ctx context.Context, cfg sdk.Config) error {
	s.conn = connSettingsFrom(cfg, "tributary-sink")
	s.table = cfg.String("table")
	s.upsert = cfg.String("insert.mode") == "upsert"
	s.raw = cfg.String("value.format") == "raw"
	s.deletes, s.truncates = cfg.Bool("delete.enabled"), cfg.Bool("truncate.enabled")
	s.autoCreate, s.autoEvolve = cfg.Bool("auto.create"), cfg.Bool("auto.evolve")
	s.tables, s.sql = map[string]*sinkTable{}, map[string]string{}
	var err error
	if s.pg, err = s.conn.connect(ctx, false); err != nil {
		return err
	}
	s.cat = newCatalog(s.pg)
	return nil
}

// Write applies the batch in one transaction: every record's change, or
// none of them.
func (s *Sink) Write(ctx context.Context, records []sdk.Record) error {
	batch := &pgconn.Batch{}
	var owners []int // the record of each statement
	for i := range records {
		st, err := s.plan(ctx, &records[i])
		if err != nil {
			return fmt.Errorf("record %s", describeRecord(&records[i], err))
		}
		if st.sql == "" {
			continue
		}
		batch.ExecParams(st.sql, st.params, nil, nil, nil)
		owners = append(owners, i)
	}
	if len(owners) == 0 {
		return nil
	}
	// A batch is one implicit transaction: the first error rolls back all.
	results, err := s.pg.ExecBatch(ctx, batch).ReadAll()
	// The statement that failed is the first with an error, or the one
	// after the last result when the error ended the reading.
	failed := len(results)
	for k, r := range results {
		if r.Err != nil {
			failed, err = k, r.Err
			break
		}
	}
	if err == nil {
		return nil
	}
	if failed < len(owners) {
		return fmt.Errorf("write batch of %d records: record %s", len(records), describeRecord(&records[owners[failed]], explainWrite(err)))
	}
	return fmt.Errorf("write batch of %d records: %w", len(records), explainWrite(err))
}

func describeRecord(r *sdk.Record, err error) string {
	return fmt.Sprintf("%s/%d@%d: %v", r.Topic, r.Partition, r.Offset, err)
}

func explainWrite(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P10" {
		return fmt.Errorf("%w: upsert needs a primary key or unique constraint on the key's columns; add one, or set insert.mode=insert", err)
	}
	return err
}

// Flush has nothing to do: every Write commits.
func (s *Sink) Flush(context.Context) error { return nil }

// Close closes the connection.
func (s *Sink) Close() error {
	if s.pg == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.pg.Close(ctx)
}

// statement is one record's SQL; an empty sql skips the record.
type statement struct {
	sql    string
	params [][]byte
}

// plan works out what a record does to which table.
func (s *Sink) plan(ctx context.Context, r *sdk.Record) (statement, error) {
	if s.raw {
		return s.planRaw(ctx, r)
	}
	var key []field
	if r.Key != nil {
		var isObj bool
		var err error
		if key, isObj, err = objectFields(r.Key); err != nil || !isObj {
			return statement{}, fmt.Errorf("the key is not a JSON object (%v): the key's fields name the key columns", err)
		}
	}
	if r.Value == nil {
		if !s.deletes || key == nil {
			return statement{}, nil
		}
		t, err := s.target(ctx, r, tableName{}, key, nil)
		if err != nil {
			return statement{}, err
		}
		return s.deleteStmt(t, key)
	}
	fields, isObj, err := objectFields(r.Value)
	if err != nil || !isObj {
		return statement{}, fmt.Errorf("the value is not a JSON object (%v): set value.format=raw for other values", err)
	}
	row, op, src := fields, "c", tableName{}
	if ev, ok := envelopeOf(fields); ok {
		op, src = ev.op, ev.source
		switch op {
		case "c", "r", "u":
			if row, isObj, err = objectFields(ev.after); err != nil || !isObj {
				return statement{}, fmt.Errorf("op %s without an after object", op)
			}
		case "d":
			if !s.deletes {
				return statement{}, nil
			}
			if key == nil {
				return statement{}, fmt.Errorf("a delete event without a key")
			}
			row = nil
		case "t":
			if !s.truncates {
				return statement{}, nil
			}
			row = nil
		default:
			return statement{}, fmt.Errorf("unknown op %q", op)
		}
	}
	t, err := s.target(ctx, r, src, key, row)
	if err != nil {
		return statement{}, err
	}
	switch op {
	case "d":
		return s.deleteStmt(t, key)
	case "t":
		return statement{sql: "TRUNCATE " + t.name}, nil
	}
	return s.writeStmt(ctx, t, key, row)
}

// planRaw writes the record itself: topic, partition, offset, key, value
// and timestamp.
func (s *Sink) planRaw(ctx context.Context, r *sdk.Record) (statement, error) {
	var pk []string
	if s.upsert {
		pk = rawKey
	}
	t, err := s.load(ctx, s.table, rawColumns, pk)
	if err != nil {
		return statement{}, err
	}
	b64 := func(b []byte) []byte {
		if b == nil {
			return []byte("null")
		}
		return pgtypes.AppendString(nil, []byte(encodeBase64(b)))
	}
	ts := []byte("null")
	if !r.Timestamp.IsZero() {
		ts = fmt.Appendf(nil, "%q", r.Timestamp.UTC().Format(time.RFC3339Nano))
	}
	row := []field{
		{name: "topic", raw: pgtypes.AppendString(nil, []byte(r.Topic))},
		{name: "partition", raw: fmt.Appendf(nil, "%d", r.Partition)},
		{name: "offset", raw: fmt.Appendf(nil, "%d", r.Offset)},
		{name: "key", raw: b64(r.Key)},
		{name: "value", raw: b64(r.Value)},
		{name: "timestamp", raw: ts},
	}
	var key []field
	if s.upsert {
		key = row[:3]
	}
	return s.writeStmt(ctx, t, key, row)
}

// target returns the table a record goes to, loading (and creating or
// evolving) it as configured.
func (s *Sink) target(ctx context.Context, r *sdk.Record, src tableName, key, row []field) (*sinkTable, error) {
	name := s.table
	switch {
	case name != "":
	case src.Name != "":
		name = src.Schema + "." + src.Name
		if src.Schema == "" {
			name = src.Name
		}
	default:
		name = r.Topic[strings.LastIndexByte(r.Topic, '.')+1:]
	}
	if name == "" {
		return nil, fmt.Errorf("no table: set the sink's table field")
	}
	cols := append(append([]field(nil), key...), row...)
	var keyNames []string
	for _, k := range key {
		keyNames = append(keyNames, k.name)
	}
	return s.load(ctx, name, inferColumns(cols), keyNames)
}
