package pgconnector

import (
	"context"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tributary-io/tributary/connectors/postgres/pgoutput"
	"github.com/tributary-io/tributary/connectors/postgres/pgtypes"
)

// tableName is a schema-qualified table name.
type tableName struct{ Schema, Name string }

// String returns schema.name, unquoted, as in topic names and patterns.
func (t tableName) String() string { return t.Schema + "." + t.Name }

// quoted returns the name for SQL.
func (t tableName) quoted() string { return quoteIdent(t.Schema) + "." + quoteIdent(t.Name) }

// checkWalLevel fails unless the server runs with wal_level=logical.
func checkWalLevel(ctx context.Context, conn *pgconn.PgConn) error {
	rows, err := exec(ctx, conn, "SHOW wal_level")
	if err != nil {
		return fmt.Errorf("read wal_level: %w", err)
	}
	if len(rows) != 1 || string(rows[0][0]) != "logical" {
		level := "?"
		if len(rows) == 1 {
			level = string(rows[0][0])
		}
		return fmt.Errorf("PostgreSQL runs with wal_level=%s, and change data capture needs logical decoding: set wal_level = logical in postgresql.conf (or ALTER SYSTEM SET wal_level = logical) and restart PostgreSQL", level)
	}
	return nil
}

func hasWildcard(p string) bool { return strings.ContainsAny(p, "*?[") }

// resolveTables lists the tables matching include and not exclude, in
// schema and name order. A name without wildcards that matches no table is
// an error, and so is an empty result.
func resolveTables(ctx context.Context, conn *pgconn.PgConn, database string, include, exclude []string) ([]tableName, error) {
	rows, err := exec(ctx, conn, `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
		  AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
		ORDER BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	matched := map[string]bool{}
	var out []tableName
	for _, r := range rows {
		t := tableName{Schema: string(r[0]), Name: string(r[1])}
		in := false
		for _, p := range include {
			if ok, _ := path.Match(p, t.String()); ok {
				in, matched[p] = true, true
			}
		}
		for _, p := range exclude {
			if ok, _ := path.Match(p, t.String()); ok {
				in = false
			}
		}
		if in {
			out = append(out, t)
		}
	}
	var missing []string
	for _, p := range include {
		if !hasWildcard(p) && !matched[p] {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("table %s (listed in tables) does not exist in database %q: create it, or remove it from tables", strings.Join(missing, ", "), database)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("tables %q (minus tables.exclude %q) match no table in database %q: create the tables or fix the patterns", include, exclude, database)
	}
	return out, nil
}

// ensurePublication makes publication name publish tables: it creates the
// publication or sets its tables when autocreate, and otherwise checks that
// it exists and lists them.
func ensurePublication(ctx context.Context, conn *pgconn.PgConn, log *slog.Logger, name string, tables []tableName, autocreate bool) error {
	list := make([]string, len(tables))
	for i, t := range tables {
		list[i] = t.quoted()
	}
	rows, err := query(ctx, conn, "SELECT puballtables FROM pg_publication WHERE pubname = $1", name)
	if err != nil {
		return fmt.Errorf("read publication %s: %w", name, err)
	}
	if len(rows) == 0 {
		create := fmt.Sprintf("CREATE PUBLICATION %s FOR TABLE %s WITH (publish_via_partition_root = true)", quoteIdent(name), strings.Join(list, ", "))
		if !autocreate {
			return fmt.Errorf("publication %q does not exist: run `%s`, or set publication.autocreate=true", name, create)
		}
		if _, err := exec(ctx, conn, create); err != nil {
			return fmt.Errorf("create publication %s: %w (create it as the tables' owner or a superuser, then set publication.autocreate=false)", name, err)
		}
		log.Info("publication created", "publication", name, "tables", len(tables))
		return nil
	}
	if string(rows[0][0]) == "t" {
		return nil // FOR ALL TABLES
	}
	rows, err = query(ctx, conn, "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1", name)
	if err != nil {
		return fmt.Errorf("read tables of publication %s: %w", name, err)
	}
	has := map[tableName]bool{}
	for _, r := range rows {
		has[tableName{Schema: string(r[0]), Name: string(r[1])}] = true
	}
	var lacking []string
	for i, t := range tables {
		if !has[t] {
			lacking = append(lacking, list[i])
		}
	}
	if len(lacking) == 0 && len(has) == len(tables) {
		return nil
	}
	if !autocreate {
		if len(lacking) == 0 {
			return nil // more tables than captured: their events are ignored
		}
		return fmt.Errorf("publication %q does not publish %s: run `ALTER PUBLICATION %s ADD TABLE %s`, or set publication.autocreate=true",
			name, strings.Join(lacking, ", "), quoteIdent(name), strings.Join(lacking, ", "))
	}
	if _, err := exec(ctx, conn, fmt.Sprintf("ALTER PUBLICATION %s SET TABLE %s", quoteIdent(name), strings.Join(list, ", "))); err != nil {
		return fmt.Errorf("set the tables of publication %s: %w (alter it as its owner, then set publication.autocreate=false)", name, err)
	}
	log.Info("publication tables set", "publication", name, "tables", len(tables))
	return nil
}

// slotState is a row of pg_replication_slots.
type slotState struct {
	exists    bool
	plugin    string
	database  string
	confirmed pgoutput.LSN
	activePID int
}

func readSlot(ctx context.Context, conn *pgconn.PgConn, name string) (slotState, error) {
	rows, err := query(ctx, conn, `SELECT coalesce(plugin, ''), coalesce(database, ''), coalesce(confirmed_flush_lsn::text, '0/0'), coalesce(active_pid, 0)
		FROM pg_replication_slots WHERE slot_name = $1`, name)
	if err != nil {
		return slotState{}, fmt.Errorf("read replication slot %s: %w", name, err)
	}
	if len(rows) == 0 {
		return slotState{}, nil
	}
	lsn, err := pgoutput.ParseLSN(string(rows[0][2]))
	if err != nil {
		return slotState{}, fmt.Errorf("replication slot %s: %w", name, err)
	}
	pid, _ := strconv.Atoi(string(rows[0][3]))
	return slotState{exists: true, plugin: string(rows[0][0]), database: string(rows[0][1]), confirmed: lsn, activePID: pid}, nil
}

// column is a table column as the snapshot reads it.
type column struct {
	name string
	typ  pgtypes.Type
	// sqlType is the column's type as SQL spells it, for casts, and
	// collate its non-default collation, quoted, or "".
	sqlType, collate string
}

// tableInfo is what the snapshot needs of a table.
type tableInfo struct {
	name    tableName
	columns []column
	key     []int // indexes in columns of the primary key, in key order
}

// catalog answers questions about types and tables on a connection,
// caching types by OID. It is used by one goroutine at a time.
type catalog struct {
	conn  *pgconn.PgConn
	types map[uint32]pgtypes.Type
}

func newCatalog(conn *pgconn.PgConn) *catalog {
	return &catalog{conn: conn, types: map[uint32]pgtypes.Type{}}
}

// typ returns the Type of oid: built in, or looked up in pg_type once.
func (c *catalog) typ(ctx context.Context, oid uint32) (pgtypes.Type, error) {
	if t, ok := pgtypes.Builtin(oid); ok {
		return t, nil
	}
	if t, ok := c.types[oid]; ok {
		return t, nil
	}
	rows, err := query(ctx, c.conn, "SELECT typname, typcategory, typtype, typelem, typbasetype, typdelim FROM pg_type WHERE oid = $1", strconv.FormatUint(uint64(oid), 10))
	if err != nil {
		return pgtypes.Type{}, fmt.Errorf("look up type %d: %w", oid, err)
	}
	if len(rows) == 0 {
		// Dropped since: its values still have a text form.
		return pgtypes.Type{OID: oid, Name: strconv.FormatUint(uint64(oid), 10), Kind: pgtypes.Text, Delim: ','}, nil
	}
	r := rows[0]
	num := func(b []byte) uint32 { n, _ := strconv.ParseUint(string(b), 10, 32); return uint32(n) }
	entry := pgtypes.CatalogEntry{OID: oid, Name: string(r[0]), Category: firstByte(r[1]), TypType: firstByte(r[2]),
		Elem: num(r[3]), BaseType: num(r[4]), Delim: firstByte(r[5])}
	t, err := pgtypes.FromCatalog(entry, func(o uint32) (pgtypes.Type, error) {
		if o == oid {
			return pgtypes.Type{}, fmt.Errorf("type %d refers to itself", oid)
		}
		return c.typ(ctx, o)
	})
	if err != nil {
		return pgtypes.Type{}, err
	}
	c.types[oid] = t
	return t, nil
}

func firstByte(b []byte) byte {
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// table returns the columns (generated columns excluded: logical
// replication does not send them) and primary key of t.
func (c *catalog) table(ctx context.Context, t tableName) (*tableInfo, error) {
	rows, err := query(ctx, c.conn, `SELECT a.attname, a.atttypid, format_type(a.atttypid, a.atttypmod),
			CASE WHEN a.attcollation <> 0 AND a.attcollation <> ty.typcollation
			     THEN quote_ident(cn.nspname) || '.' || quote_ident(co.collname) ELSE '' END
		FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid
		LEFT JOIN pg_collation co ON co.oid = a.attcollation LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
		WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
		ORDER BY a.attnum`, t.quoted())
	if err != nil {
		return nil, fmt.Errorf("read columns of %s: %w", t, err)
	}
	info := &tableInfo{name: t}
	for _, r := range rows {
		oid, _ := strconv.ParseUint(string(r[1]), 10, 32)
		typ, err := c.typ(ctx, uint32(oid))
		if err != nil {
			return nil, err
		}
		info.columns = append(info.columns, column{name: string(r[0]), typ: typ, sqlType: string(r[2]), collate: string(r[3])})
	}
	key, err := c.primaryKey(ctx, t.quoted())
	if err != nil {
		return nil, err
	}
	for _, k := range key {
		i := slices.IndexFunc(info.columns, func(col column) bool { return col.name == k })
		if i < 0 {
			return nil, fmt.Errorf("primary key column %s of %s is not among its columns", k, t)
		}
		info.key = append(info.key, i)
	}
	return info, nil
}

// primaryKey returns the primary key columns of a relation, given as a
// quoted name or an OID, in key order; none when it has no primary key.
func (c *catalog) primaryKey(ctx context.Context, rel string) ([]string, error) {
	rows, err := query(ctx, c.conn, `SELECT a.attname FROM pg_index i
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
		WHERE i.indrelid = $1::regclass AND i.indisprimary
		ORDER BY array_position(i.indkey::int2[], a.attnum)`, rel)
	if err != nil {
		return nil, fmt.Errorf("read the primary key of %s: %w", rel, err)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = string(r[0])
	}
	return out, nil
}
