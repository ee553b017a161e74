// Package pgconnector is the PostgreSQL connector, built on sdk: a change
// data capture source and an upsert sink.
//
// # Source
//
// Open connects twice: an ordinary session (catalog lookups, the
// snapshot) and a logical replication session. It checks wal_level,
// resolves the captured tables (tables minus tables.exclude, schema.table
// patterns), creates or updates the publication (publication.autocreate),
// and creates the replication slot when missing. Then:
//
//   - Snapshot (snapshot.mode=initial, no position yet): a temporary slot
//     exports a snapshot consistent with its LSN; the ordinary session
//     imports it and reads every captured table in primary key order
//     (op "r"). Changes that committed before that LSN are in the rows;
//     the stream delivers the ones after. If the plugin dies mid-snapshot,
//     the next Open starts a new snapshot after the last row delivered and
//     the stream filters changes per key range so that each change is
//     delivered iff the row's snapshot did not already include it (see
//     snapPos). A table without a primary key is read again from its start
//     in that case.
//   - Streaming: pgoutput (package pgoutput) from the slot, decoded into
//     Debezium-style events in commit order: key = the primary key columns
//     as a JSON object (null for tables without one); value = {before,
//     after, source{version, connector, name, ts_ms, snapshot, db, schema,
//     table, txId, lsn}, op (c, u, d, t; r for snapshot rows), ts_ms}, on
//     topic <topic.prefix>.<schema>.<table>. A delete is followed by a
//     tombstone (tombstones.on.delete). before holds the old row under
//     REPLICA IDENTITY FULL, the key columns for deletes otherwise. A
//     changed primary key becomes a delete of the old key and a create of
//     the new one. Columns come from the latest Relation message, so ADD
//     and DROP COLUMN show in the events that follow. An unchanged TOASTed
//     value, which PostgreSQL does not send, is left out of after (taken
//     from before under REPLICA IDENTITY FULL). Values map as package
//     pgtypes says.
//   - Positions: each record's position is the LSN to restart streaming
//     from (the end of the last transaction delivered in full) plus, for a
//     record inside a transaction, the transaction's commit LSN and the
//     number of its records delivered, plus snapshot progress while it
//     matters. ts_ms is the commit time, not the processing time, so a
//     record read again after a restart is identical, position included.
//   - Confirmation: Commit (sdk.Committer) raises the LSN reported to
//     PostgreSQL as flushed, sent every status.interval: the slot keeps
//     WAL and replays from it, so a crash loses nothing, and WAL before it
//     is released. Only positions the host committed are confirmed. While
//     no captured table changes, a heartbeat record (heartbeat.topic) every
//     heartbeat.interval carries the server's newest WAL position, so
//     committing it advances the slot on an idle database.
//
// Errors name their fix: no wal_level=logical, a missing table, a wrong
// password, a missing REPLICATION attribute or pg_hba.conf entry, a
// dropped slot or one that is busy or ahead of the committed position.
//
// Goroutines: one per open source, reading the replication connection
// into a bounded queue and sending status updates (stream.go); Close stops
// and waits for it. Everything else runs in the host's calls.
//
// # Sink
//
// Each Write applies its records in one transaction (one pipelined batch):
// for a Debezium envelope, op c/r/u upserts the after image (INSERT ... ON
// CONFLICT (key columns) DO UPDATE), op d and tombstones delete by key,
// op t truncates when truncate.enabled; a flat JSON object is upserted as
// a row. Key columns are the record key's fields. Re-applying records is
// harmless, so the sink is effectively once. JSON values are converted to
// the target columns' types (package pgtypes). auto.create creates a
// missing table from the first record's shape (numbers as bigint or double
// precision, strings as text, objects and arrays as jsonb), auto.evolve
// adds missing columns. insert.mode=insert appends instead, and
// value.format=raw stores records as (topic, partition, offset, key,
// value, timestamp).
//
// # Imports
//
// sdk, pgoutput, pgtypes of this module and pgx's pgconn.
package pgconnector
