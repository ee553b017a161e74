// Package log owns the on-disk partition log: segments of Kafka RecordBatch v2 bytes
// stored exactly as producers sent them, their sparse offset and time indexes,
// recovery after a crash, retention, compaction and the fsync policy.
//
// A partition is a folder <topic>-<partition> holding segments named by their
// 20-digit base offset: 00000000000000000000.log with .index (relative offset →
// file position, one entry every index.interval.bytes) and .timeindex (max timestamp
// → offset), plus log.checkpoint (log start offset and recovery point). format.go
// documents every file's layout and the recovery steps.
//
// Invariants:
//   - offsets increase across batches and segments; compaction and a leader's
//     compacted log (AppendAsFollower) leave gaps, and a read at an offset in a
//     gap returns the next batch; a batch is never split; only the active (last)
//     segment is appended to, and the end offset is always the active segment's
//     next offset, so it survives a reopen;
//   - retention and compaction never touch the active segment;
//   - a compacted segment replaces its original atomically (write new, fsync,
//     commit record, rename), and Open completes or discards an interrupted swap;
//   - reads see only whole batches below the caller's upper bound;
//   - every byte below the checkpoint's recovery point was fsynced; Open rescans
//     (with CRC checks) only what lies above it.
//
// Log is safe for concurrent use: appends are serialised, reads run concurrently with
// appends and with background cleaning and never wait for an fsync or a compaction.
// The files a read returns stay open until the ReadResult is released, even when
// retention or compaction deletes their segment meanwhile. Manager owns every Log of
// a node and the one background goroutine that runs retention, compaction and timed
// flushes.
//
// This package imports broker/record and nothing else of Tributary's; it knows
// nothing of the network, replication or topics beyond a folder name.
package log
