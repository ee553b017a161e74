package pgconnector

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tributary-io/tributary/connectors/postgres/pgoutput"
	"github.com/tributary-io/tributary/sdk"
)

// snapshotCursor is the cursor the snapshot reads a table with.
const snapshotCursor = "tributary_snapshot"

// snapshotter reads the rows of the captured tables as of one exported
// snapshot (an attempt, see snapPos), table by table in primary key
// order, on the source's auxiliary connection, which holds the snapshot's
// transaction open until the last table is read.
type snapshotter struct {
	conn   *pgconn.PgConn
	cat    *catalog
	env    envelope
	log    *slog.Logger
	state  *snapPos // progress, updated with every row handed out
	resume pgoutput.LSN
	lsn    pgoutput.LSN // this attempt's consistent point
	tsMs   int64        // this attempt's start, the rows' ts_ms
	fetch  int

	table *tableInfo // the table being read, nil between tables
	cols  []colDesc
}

// beginSnapshot starts a new attempt where state left off: it creates a
// temporary slot exporting a snapshot, imports the snapshot on conn in a
// repeatable read transaction, and records the attempt in state.
func beginSnapshot(ctx context.Context, settings connSettings, conn *pgconn.PgConn, cat *catalog, env envelope,
	log *slog.Logger, slotName string, state *snapPos, fetch int) (*snapshotter, error) {
	repl, err := settings.connect(ctx, true)
	if err != nil {
		return nil, err
	}
	// The temporary slot lives until repl closes; the imported snapshot
	// stays valid in conn's transaction after that.
	defer repl.Close(context.Background())
	slot, err := pgoutput.CreateSlot(ctx, repl, tempSlotName(slotName), pgoutput.SlotOptions{Temporary: true, ExportSnapshot: true})
	if err != nil {
		return nil, fmt.Errorf("create a slot for the snapshot: %w", err)
	}
	if _, err := exec(ctx, conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
		return nil, fmt.Errorf("begin the snapshot transaction: %w", err)
	}
	if _, err := exec(ctx, conn, "SET TRANSACTION SNAPSHOT "+quoteLiteral(slot.SnapshotName)); err != nil {
		return nil, fmt.Errorf("import snapshot %s: %w", slot.SnapshotName, err)
	}
	state.Attempts = append(state.Attempts, attempt{LSN: uint64(slot.ConsistentPoint), Table: state.Table, Key: state.Key})
	s := &snapshotter{conn: conn, cat: cat, env: env, log: log, state: state, resume: pgoutput.LSN(state.Attempts[0].LSN),
		lsn: slot.ConsistentPoint, tsMs: time.Now().UnixMilli(), fetch: fetch}
	log.Info("snapshot started", "lsn", slot.ConsistentPoint.String(), "attempt", len(state.Attempts),
		"tables", len(state.Tables), "from_table", state.Table)
	return s, nil
}

// tempSlotName returns a unique name for a snapshot's temporary slot.
func tempSlotName(slot string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	suffix := "_snap_" + hex.EncodeToString(b[:])
	return slot[:min(len(slot), 63-len(suffix))] + suffix
}

// next returns up to max rows as records; done reports that every table
// was read and the snapshot transaction ended.
func (s *snapshotter) next(ctx context.Context, max int) (recs []sdk.Record, done bool, err error) {
	for {
		if s.table == nil {
			if s.state.Table >= len(s.state.Tables) {
				if _, err := exec(ctx, s.conn, "COMMIT"); err != nil {
					return nil, false, fmt.Errorf("end the snapshot transaction: %w", err)
				}
				s.state.Done = true
				s.log.Info("snapshot done", "lsn", s.lsn.String())
				return nil, true, nil
			}
			if err := s.open(ctx); err != nil {
				return nil, false, err
			}
			if s.table == nil {
				continue // the table is gone
			}
		}
		rows, err := exec(ctx, s.conn, fmt.Sprintf("FETCH FORWARD %d FROM %s", min(max, s.fetch), snapshotCursor))
		if err != nil {
			return nil, false, fmt.Errorf("read %s: %w", s.table.name, err)
		}
		if len(rows) == 0 {
			if _, err := exec(ctx, s.conn, "CLOSE "+snapshotCursor); err != nil {
				return nil, false, fmt.Errorf("close the cursor on %s: %w", s.table.name, err)
			}
			s.table, s.state.Table, s.state.Key = nil, s.state.Table+1, nil
			continue
		}
		out := make([]sdk.Record, 0, len(rows))
		for _, row := range rows {
			rec, err := s.record(row)
			if err != nil {
				return nil, false, fmt.Errorf("snapshot of %s: %w", s.table.name, err)
			}
			out = append(out, rec)
		}
		return out, false, nil
	}
}

// open declares the cursor over the current table, after state.Key when
// this attempt resumes inside the table.
func (s *snapshotter) open(ctx context.Context) error {
	name := s.state.Tables[s.state.Table]
	exists, err := query(ctx, s.conn, "SELECT to_regclass($1) IS NOT NULL", name.quoted())
	if err != nil {
		return fmt.Errorf("snapshot of %s: %w", name, err)
	}
	if len(exists) != 1 || string(exists[0][0]) != "t" {
		s.log.Warn("table dropped before the snapshot read it: skipped", "table", name.String())
		s.state.Table, s.state.Key = s.state.Table+1, nil
		return nil
	}
	info, err := s.cat.table(ctx, name)
	if err != nil {
		return fmt.Errorf("snapshot of %s: %w", name, err)
	}
	cols := make([]string, len(info.columns))
	s.cols = make([]colDesc, len(info.columns))
	for i, c := range info.columns {
		cols[i] = quoteIdent(c.name)
		s.cols[i] = colDesc{name: c.name, typ: c.typ}
	}
	sql := "SELECT " + strings.Join(cols, ", ") + " FROM " + name.quoted()
	if len(info.key) > 0 {
		keyCols := make([]string, len(info.key))
		for n, i := range info.key {
			keyCols[n] = quoteIdent(info.columns[i].name)
		}
		if s.state.Key != nil {
			if len(s.state.Key) != len(info.key) {
				return fmt.Errorf("snapshot of %s: the position's key has %d columns, the primary key %d: the key changed while snapshotting; reset the connector to snapshot again", name, len(s.state.Key), len(info.key))
			}
			sql += " WHERE (" + strings.Join(keyCols, ", ") + ") > (" + keyLiterals(info, s.state.Key) + ")"
		}
		sql += " ORDER BY " + strings.Join(keyCols, ", ")
	}
	if _, err := exec(ctx, s.conn, "DECLARE "+snapshotCursor+" NO SCROLL CURSOR FOR "+sql); err != nil {
		return fmt.Errorf("snapshot of %s: %w", name, err)
	}
	s.table = info
	return nil
}

// keyLiterals renders key values as typed literals in the key columns'
// types and collations, so comparisons order as the primary key does.
func keyLiterals(info *tableInfo, key []string) string {
	lits := make([]string, len(key))
	for n, i := range info.key {
		c := info.columns[i]
		lits[n] = quoteLiteral(key[n]) + "::" + c.sqlType
		if c.collate != "" {
			lits[n] += " COLLATE " + c.collate
		}
	}
	return strings.Join(lits, ", ")
}

func (s *snapshotter) record(row [][]byte) (sdk.Record, error) {
	vals := make(pgoutput.Tuple, len(row))
	for i, v := range row {
		if v == nil {
			vals[i] = pgoutput.Value{Kind: pgoutput.ValueNull}
		} else {
			vals[i] = pgoutput.Value{Kind: pgoutput.ValueText, Data: v}
		}
	}
	after, err := appendRow(nil, s.cols, vals, nil)
	if err != nil {
		return sdk.Record{}, err
	}
	var key []byte
	if len(s.table.key) > 0 {
		if key, err = appendKey(nil, s.cols, s.table.key, vals); err != nil {
			return sdk.Record{}, err
		}
		k, ok := keyText(s.table.key, vals)
		if !ok {
			return sdk.Record{}, fmt.Errorf("a primary key value is null")
		}
		s.state.Key = k
	}
	src := sourceInfo{snapshot: true, table: s.table.name, lsn: s.lsn, tsMs: s.tsMs}
	return sdk.Record{
		Key:       key,
		Value:     s.env.appendEvent(nil, opRead, nil, after, src),
		Topic:     s.env.topic(s.table.name),
		Timestamp: time.UnixMilli(s.tsMs),
		Position:  position{Resume: uint64(s.resume), Snap: s.state.clone()}.encode(),
	}, nil
}

// keyComparer answers keyAfter with the server's ordering of each table's
// primary key, on conn.
type keyComparer struct {
	conn *pgconn.PgConn
	cat  *catalog
	info map[tableName]*tableInfo
}

func (k *keyComparer) after(ctx context.Context, t tableName, a, b []string) (bool, error) {
	info, ok := k.info[t]
	if !ok {
		var err error
		if info, err = k.cat.table(ctx, t); err != nil {
			return false, err
		}
		k.info[t] = info
	}
	if len(a) != len(info.key) || len(b) != len(info.key) {
		return false, fmt.Errorf("compare keys of %s: %d and %d values for a key of %d columns", t, len(a), len(b), len(info.key))
	}
	rows, err := exec(ctx, k.conn, "SELECT ROW("+keyLiterals(info, a)+") > ROW("+keyLiterals(info, b)+")")
	if err != nil {
		return false, fmt.Errorf("compare keys of %s: %w", t, err)
	}
	return len(rows) == 1 && string(rows[0][0]) == "t", nil
}

// itoa is strconv.Itoa for uint32 OIDs.
func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }
