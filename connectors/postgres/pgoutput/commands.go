package pgoutput

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// slotNameRE is what PostgreSQL accepts as a replication slot name.
var slotNameRE = regexp.MustCompile(`^[a-z0-9_]{1,63}$`)

// CheckSlotName reports whether name is a valid replication slot name:
// 1 to 63 lower case letters, digits and underscores.
func CheckSlotName(name string) error {
	if !slotNameRE.MatchString(name) {
		return fmt.Errorf("slot name %q: want 1 to 63 lower case letters, digits and underscores", name)
	}
	return nil
}

// PluginArgs returns the START_REPLICATION options of pgoutput protocol
// version 1 for the given publications.
func PluginArgs(publications ...string) []string {
	return []string{"proto_version '1'", "publication_names " + quoteLiteral(strings.Join(publications, ","))}
}

// SystemInfo is the answer to IDENTIFY_SYSTEM.
type SystemInfo struct {
	SystemID string
	Timeline int32
	// XLogPos is the current WAL flush position.
	XLogPos LSN
	DBName  string
}

// IdentifySystem runs IDENTIFY_SYSTEM.
func IdentifySystem(ctx context.Context, conn *pgconn.PgConn) (SystemInfo, error) {
	row, err := oneRow(ctx, conn, "IDENTIFY_SYSTEM", 4)
	if err != nil {
		return SystemInfo{}, err
	}
	tl, err := strconv.ParseInt(row[1], 10, 32)
	if err != nil {
		return SystemInfo{}, fmt.Errorf("IDENTIFY_SYSTEM: timeline %q: %w", row[1], err)
	}
	pos, err := ParseLSN(row[2])
	if err != nil {
		return SystemInfo{}, fmt.Errorf("IDENTIFY_SYSTEM: %w", err)
	}
	return SystemInfo{SystemID: row[0], Timeline: int32(tl), XLogPos: pos, DBName: row[3]}, nil
}

// SlotOptions says how to create a slot.
type SlotOptions struct {
	// Temporary slots are dropped when the session that created them ends.
	Temporary bool
	// ExportSnapshot exports a snapshot of the database as of the slot's
	// consistent point. Another session imports it with SET TRANSACTION
	// SNAPSHOT; it stays importable until this session runs another
	// command or ends.
	ExportSnapshot bool
}

// Slot is a created replication slot.
type Slot struct {
	Name string
	// ConsistentPoint is where the slot's stream starts: transactions that
	// committed before it are in the exported snapshot, later ones are
	// streamed.
	ConsistentPoint LSN
	// SnapshotName is the exported snapshot, empty unless asked for.
	SnapshotName string
	Plugin       string
}

// CreateSlot creates a logical replication slot for pgoutput.
func CreateSlot(ctx context.Context, conn *pgconn.PgConn, name string, opts SlotOptions) (Slot, error) {
	if err := CheckSlotName(name); err != nil {
		return Slot{}, fmt.Errorf("create replication slot: %w", err)
	}
	sql := "CREATE_REPLICATION_SLOT " + name
	if opts.Temporary {
		sql += " TEMPORARY"
	}
	sql += " LOGICAL pgoutput"
	if opts.ExportSnapshot {
		sql += " EXPORT_SNAPSHOT"
	} else {
		sql += " NOEXPORT_SNAPSHOT"
	}
	row, err := oneRow(ctx, conn, sql, 4)
	if err != nil {
		return Slot{}, err
	}
	cp, err := ParseLSN(row[1])
	if err != nil {
		return Slot{}, fmt.Errorf("create replication slot %s: consistent point: %w", name, err)
	}
	return Slot{Name: row[0], ConsistentPoint: cp, SnapshotName: row[2], Plugin: row[3]}, nil
}

// StartReplication starts streaming slot from start (PostgreSQL starts at
// the slot's confirmed_flush_lsn instead when that is later) with the
// output plugin arguments args. On success the connection is in copy-both
// mode: read with ReceiveMessage, answer with SendStandbyStatus.
func StartReplication(ctx context.Context, conn *pgconn.PgConn, slot string, start LSN, args []string) error {
	if err := CheckSlotName(slot); err != nil {
		return fmt.Errorf("start replication: %w", err)
	}
	sql := fmt.Sprintf("START_REPLICATION SLOT %s LOGICAL %s", slot, start)
	if len(args) > 0 {
		sql += " (" + strings.Join(args, ", ") + ")"
	}
	conn.Frontend().Send(&pgproto3.Query{String: sql})
	if err := conn.Frontend().Flush(); err != nil {
		return fmt.Errorf("start replication of slot %s: %w", slot, err)
	}
	for {
		msg, err := conn.ReceiveMessage(ctx)
		if err != nil {
			return fmt.Errorf("start replication of slot %s: %w", slot, err)
		}
		switch m := msg.(type) {
		case *pgproto3.CopyBothResponse:
			return nil
		case *pgproto3.ErrorResponse:
			pgErr := pgconn.ErrorResponseToPgError(m)
			// The server ends the failed command with ReadyForQuery; read
			// it so the connection stays usable.
			for {
				msg, err := conn.ReceiveMessage(ctx)
				if err != nil {
					break
				}
				if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
					break
				}
			}
			return fmt.Errorf("start replication of slot %s: %w", slot, pgErr)
		}
	}
}

// SendStandbyStatus reports s to the server on a connection in copy-both
// mode. ClientTime defaults to now.
func SendStandbyStatus(conn *pgconn.PgConn, s StandbyStatus) error {
	if s.ClientTime.IsZero() {
		s.ClientTime = time.Now()
	}
	payload := AppendStandbyStatus(nil, s)
	msg, err := (&pgproto3.CopyData{Data: payload}).Encode(nil)
	if err != nil {
		return fmt.Errorf("standby status: %w", err)
	}
	if err := conn.Frontend().SendUnbufferedEncodedCopyData(msg); err != nil {
		return fmt.Errorf("standby status: %w", err)
	}
	return nil
}

// oneRow runs a replication command and returns its single row as text,
// checking the column count.
func oneRow(ctx context.Context, conn *pgconn.PgConn, sql string, cols int) ([]string, error) {
	results, err := conn.Exec(ctx, sql).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", sql, err)
	}
	if len(results) != 1 || len(results[0].Rows) != 1 || len(results[0].Rows[0]) != cols {
		return nil, fmt.Errorf("%s: unexpected answer shape", sql)
	}
	row := make([]string, cols)
	for i, v := range results[0].Rows[0] {
		row[i] = string(v)
	}
	return row, nil
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
