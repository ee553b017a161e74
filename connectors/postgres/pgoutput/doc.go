// Package pgoutput speaks PostgreSQL's logical replication protocol and
// decodes the messages of the built-in `pgoutput` output plugin (protocol
// version 1). It is ours because the pglogrepl module is not available; it
// builds on pgx's pgconn (the connection) and pgproto3 (message framing).
//
// # Pieces
//
//   - LSN (lsn.go): a WAL position, printed and parsed as "16/B374D848".
//   - The replication stream (stream.go): the CopyData payloads of a
//     START_REPLICATION ... LOGICAL session — XLogData ('w') carrying one
//     pgoutput message, primary keepalives ('k') — and the standby status
//     update ('r') that reports how far the client has durably processed.
//   - pgoutput messages (messages.go, tuple.go): Begin, Commit, Origin,
//     Relation, Type, Insert, Update, Delete, Truncate and logical decoding
//     Message, with tuples whose column values stay in PostgreSQL's text
//     output form (the session's DateStyle, IntervalStyle, TimeZone and
//     bytea_output apply).
//   - Replication commands (commands.go): IDENTIFY_SYSTEM,
//     CREATE_REPLICATION_SLOT (optionally temporary, exporting a snapshot),
//     START_REPLICATION and the status update, on a pgconn connection opened
//     with the runtime parameter replication=database.
//
// Parsing never panics on malformed input (a fuzz target checks it) and
// returns an error naming what was malformed. Parsed messages alias the
// input bytes for column values: copy the input if it is reused.
//
// # The loop a client writes
//
//	conn := pgconn.ConnectConfig(ctx, cfg) // cfg.RuntimeParams["replication"] = "database"
//	StartReplication(ctx, conn, slot, from, PluginArgs(publication))
//	for {
//		msg := conn.ReceiveMessage(ctx)          // *pgproto3.CopyData
//		switch m := ParseStreamMessage(data) {
//		case XLogData: Parse(m.Data) -> Begin, Relation, Insert, ..., Commit
//		case Keepalive: reply with SendStandbyStatus when asked
//		}
//		... report the LSN whose effects are durable: SendStandbyStatus(conn, lsn)
//	}
//
// # Imports
//
// pgoutput imports pgx (pgconn, pgproto3) and the standard library; nothing
// of this module.
package pgoutput
