// Package log owns the on-disk partition log: segments of Kafka RecordBatch v2 bytes
// stored exactly as producers sent them, their sparse offset and time indexes,
// recovery after a crash, retention, compaction and the fsync policy.
//
// A partition is a folder <topic>-<partition> holding segments named by their
// 20-digit base offset: 00000000000000000000.log with .index (relative offset →
// file position, one entry every index.interval.bytes) and .timeindex (max timestamp
// → offset). See broker/README.md for the byte layout of each file.
//
// Invariants:
//   - offsets in the log are dense and increasing across batches; a batch is never
//     split; only the active (last) segment is appended to;
//   - retention and compaction never touch the active segment;
//   - a compacted segment replaces its original atomically (write new, fsync, rename);
//   - reads see only whole batches below the caller's upper bound.
//
// Log is safe for concurrent use: appends are serialised, reads run concurrently with
// appends and with background cleaning. Manager owns every Log of a node and the one
// background goroutine that runs retention, compaction and timed flushes.
//
// This package imports broker/record and nothing else of Tributary's; it knows
// nothing of the network, replication or topics beyond a folder name.
package log
