package pgconnector

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/tributary-io/tributary/connectors/postgres/pgtypes"
)

// field is one member of a JSON object, its value as raw JSON.
type field struct {
	name string
	raw  []byte
}

// objectFields returns the members of a JSON object in order; isObj is
// false for other JSON values.
func objectFields(raw []byte) (fields []field, isObj bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, false, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, false, nil
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, true, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, true, err
		}
		fields = append(fields, field{name: tok.(string), raw: v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, true, err
	}
	if dec.More() {
		return nil, true, fmt.Errorf("data after the object")
	}
	return fields, true, nil
}

// sinkEvent is what the sink uses of a Debezium envelope.
type sinkEvent struct {
	op     string
	after  []byte
	source tableName
}

// envelopeOf recognizes a Debezium envelope: an op string with a before
// or after member.
func envelopeOf(fields []field) (sinkEvent, bool) {
	var ev sinkEvent
	var hasOp, hasImage bool
	for _, f := range fields {
		switch f.name {
		case "op":
			hasOp = json.Unmarshal(f.raw, &ev.op) == nil
		case "after":
			ev.after, hasImage = f.raw, true
		case "before":
			hasImage = true
		case "source":
			var src struct {
				Schema string `json:"schema"`
				Table  string `json:"table"`
			}
			if json.Unmarshal(f.raw, &src) == nil {
				ev.source = tableName{Schema: src.Schema, Name: src.Table}
			}
		}
	}
	return ev, hasOp && hasImage
}

// colSpec is a column a record needs, with the type auto.create and
// auto.evolve give it.
type colSpec struct{ name, sqlType string }

// rawColumns are the columns of value.format=raw; rawKey their key.
var (
	rawColumns = []colSpec{{"topic", "text"}, {"partition", "integer"}, {"offset", "bigint"},
		{"key", "bytea"}, {"value", "bytea"}, {"timestamp", "timestamptz"}}
	rawKey = []string{"topic", "partition", "offset"}
)

// inferColumns gives each field a column type from its JSON shape.
func inferColumns(fields []field) []colSpec {
	seen := map[string]bool{}
	var out []colSpec
	for _, f := range fields {
		if seen[f.name] {
			continue
		}
		seen[f.name] = true
		out = append(out, colSpec{name: f.name, sqlType: inferType(f.raw)})
	}
	return out
}

func inferType(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "text"
	}
	switch raw[0] {
	case '"', 'n':
		return "text"
	case 't', 'f':
		return "boolean"
	case '{', '[':
		return "jsonb"
	}
	if bytes.ContainsAny(raw, ".eE") {
		return "double precision"
	}
	return "bigint"
}

// sinkTable is a target table's columns.
type sinkTable struct {
	name string // quoted for SQL
	cols map[string]pgtypes.Type
}

// quoteTableName quotes "schema.name" or "name".
func quoteTableName(name string) string {
	if schema, table, ok := strings.Cut(name, "."); ok {
		return quoteIdent(schema) + "." + quoteIdent(table)
	}
	return quoteIdent(name)
}

// load returns the table name refers to, creating it (auto.create) or
// adding columns (auto.evolve) so it has the columns want.
func (s *Sink) load(ctx context.Context, name string, want []colSpec, key []string) (*sinkTable, error) {
	t, ok := s.tables[name]
	if !ok {
		var err error
		if t, err = s.readTable(ctx, quoteTableName(name)); err != nil {
			return nil, err
		}
		if t == nil {
			if !s.autoCreate {
				return nil, fmt.Errorf("table %s does not exist: create it, or set auto.create=true", name)
			}
			if err := s.createTable(ctx, quoteTableName(name), want, key); err != nil {
				return nil, err
			}
			if t, err = s.readTable(ctx, quoteTableName(name)); err != nil || t == nil {
				return nil, fmt.Errorf("table %s vanished after creating it: %v", name, err)
			}
		}
		s.tables[name] = t
	}
	var missing []colSpec
	for _, c := range want {
		if _, ok := t.cols[c.name]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) == 0 {
		return t, nil
	}
	if !s.autoEvolve {
		names := make([]string, len(missing))
		for i, c := range missing {
			names[i] = c.name
		}
		return nil, fmt.Errorf("table %s has no column %s: add it, or set auto.evolve=true", name, strings.Join(names, ", "))
	}
	adds := make([]string, len(missing))
	for i, c := range missing {
		adds[i] = "ADD COLUMN IF NOT EXISTS " + quoteIdent(c.name) + " " + c.sqlType
	}
	if _, err := exec(ctx, s.pg, "ALTER TABLE "+t.name+" "+strings.Join(adds, ", ")); err != nil {
		return nil, fmt.Errorf("add columns to %s: %w", name, err)
	}
	s.log.Info("columns added", "table", name, "columns", len(missing))
	fresh, err := s.readTable(ctx, t.name)
	if err != nil || fresh == nil {
		return nil, fmt.Errorf("table %s after adding columns: %v", name, err)
	}
	s.tables[name] = fresh
	return fresh, nil
}

func (s *Sink) createTable(ctx context.Context, qname string, cols []colSpec, key []string) error {
	defs := make([]string, 0, len(cols)+1)
	for _, c := range cols {
		defs = append(defs, quoteIdent(c.name)+" "+c.sqlType)
	}
	if s.upsert && len(key) > 0 {
		qk := make([]string, len(key))
		for i, k := range key {
			qk[i] = quoteIdent(k)
		}
		defs = append(defs, "PRIMARY KEY ("+strings.Join(qk, ", ")+")")
	}
	if _, err := exec(ctx, s.pg, "CREATE TABLE IF NOT EXISTS "+qname+" ("+strings.Join(defs, ", ")+")"); err != nil {
		return fmt.Errorf("create table %s: %w", qname, err)
	}
	s.log.Info("table created", "table", qname, "columns", len(cols))
	return nil
}

// readTable returns the table's columns, or nil when it does not exist.
func (s *Sink) readTable(ctx context.Context, qname string) (*sinkTable, error) {
	rows, err := query(ctx, s.pg, "SELECT to_regclass($1) IS NOT NULL", qname)
	if err != nil {
		return nil, fmt.Errorf("look up table %s: %w", qname, err)
	}
	if string(rows[0][0]) != "t" {
		return nil, nil
	}
	rows, err = query(ctx, s.pg, `SELECT attname, atttypid FROM pg_attribute
		WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, qname)
	if err != nil {
		return nil, fmt.Errorf("read columns of %s: %w", qname, err)
	}
	t := &sinkTable{name: qname, cols: map[string]pgtypes.Type{}}
	for _, r := range rows {
		oid, _ := strconv.ParseUint(string(r[1]), 10, 32)
		typ, err := s.cat.typ(ctx, uint32(oid))
		if err != nil {
			return nil, err
		}
		t.cols[string(r[0])] = typ
	}
	return t, nil
}

// writeStmt is an upsert (when there is a key and insert.mode=upsert) or
// an insert of row, with key fields the row lacks added.
func (s *Sink) writeStmt(_ context.Context, t *sinkTable, key, row []field) (statement, error) {
	fields := append([]field(nil), row...)
	for _, k := range key {
		if !hasField(row, k.name) {
			fields = append(fields, k)
		}
	}
	if s.upsert && len(key) == 0 {
		return statement{}, fmt.Errorf("no key: an upsert needs the key's fields (the record key, a JSON object); set insert.mode=insert to append rows instead")
	}
	params, err := s.params(t, fields)
	if err != nil {
		return statement{}, err
	}
	var shape strings.Builder
	shape.WriteString(t.name)
	for _, f := range fields {
		shape.WriteString("\x00" + f.name)
	}
	shape.WriteString("\x01")
	if s.upsert {
		for _, k := range key {
			shape.WriteString("\x00" + k.name)
		}
	}
	sql, ok := s.sql[shape.String()]
	if !ok {
		cols := make([]string, len(fields))
		ph := make([]string, len(fields))
		for i, f := range fields {
			cols[i], ph[i] = quoteIdent(f.name), "$"+strconv.Itoa(i+1)
		}
		sql = "INSERT INTO " + t.name + " (" + strings.Join(cols, ", ") + ") VALUES (" + strings.Join(ph, ", ") + ")"
		if s.upsert {
			keys := make([]string, len(key))
			for i, k := range key {
				keys[i] = quoteIdent(k.name)
			}
			var sets []string
			for _, f := range fields {
				if !hasField(key, f.name) {
					sets = append(sets, quoteIdent(f.name)+" = EXCLUDED."+quoteIdent(f.name))
				}
			}
			sql += " ON CONFLICT (" + strings.Join(keys, ", ") + ")"
			if len(sets) == 0 {
				sql += " DO NOTHING"
			} else {
				sql += " DO UPDATE SET " + strings.Join(sets, ", ")
			}
		}
		s.sql[shape.String()] = sql
	}
	return statement{sql: sql, params: params}, nil
}

func (s *Sink) deleteStmt(t *sinkTable, key []field) (statement, error) {
	params, err := s.params(t, key)
	if err != nil {
		return statement{}, err
	}
	conds := make([]string, len(key))
	for i, k := range key {
		conds[i] = quoteIdent(k.name) + " = $" + strconv.Itoa(i+1)
	}
	return statement{sql: "DELETE FROM " + t.name + " WHERE " + strings.Join(conds, " AND "), params: params}, nil
}

// params converts field values to the text forms of their columns' types.
func (s *Sink) params(t *sinkTable, fields []field) ([][]byte, error) {
	out := make([][]byte, len(fields))
	for i, f := range fields {
		typ, ok := t.cols[f.name]
		if !ok {
			return nil, fmt.Errorf("table %s has no column %s", t.name, f.name)
		}
		text, null, err := pgtypes.ToText(typ, f.raw)
		if err != nil {
			return nil, fmt.Errorf("field %s for a %s column: %w", f.name, typ.Name, err)
		}
		if !null {
			out[i] = text
		}
	}
	return out, nil
}

func hasField(fs []field, name string) bool {
	for _, f := range fs {
		if f.name == name {
			return true
		}
	}
	return false
}

func encodeBase64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
