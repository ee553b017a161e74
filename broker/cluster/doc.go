// Package cluster owns the cluster metadata: brokers, topics with their ids,
// partitions with leader, leader epoch, replicas and ISR, and topic config
// overrides. The state is a deterministic state machine (Metadata.Apply) that does
// no I/O and reads no clock, so the same code runs under a single-node driver
// (Local, which persists commands to a file) and, later, under hashicorp/raft.
//
// Readers get immutable Snapshots; a writer proposes a Command and, once it is
// applied, every subscriber sees the new Snapshot and reconciles (the partition
// layer opens or removes logs).
//
// The split of work:
//
//   - The proposer (Local today, the raft leader later) validates a request,
//     decides everything that is not deterministic (random topic ids, replica
//     placement) and writes it into the Command.
//   - Metadata.Apply checks the command against the state (names, ids, placements
//     on registered brokers) and builds a new Snapshot copy-on-write: unchanged
//     topics are shared, changed ones are new values. Topic configs are validated by
//     the proposer only (ValidateTopicConfigs), so that a stricter rule in a later
//     version cannot make an old command log unreplayable.
//   - Local appends each command as one JSON line (with a CRC-32C) to
//     dir/commands.log and fsyncs before applying it, then calls the subscribers
//     in order under its lock. When the log grows it is folded into
//     dir/snapshot.json (temp file, fsync, rename). On open the snapshot is
//     loaded, the log replayed (entries the snapshot covers are skipped by
//     version), and a torn last line dropped; any other damage is an error.
//
// Topic configs: the log settings of broker/log plus a small table of other Kafka
// topic configs (min.insync.replicas, compression.type, ...) that are stored as
// overrides and read by other layers. Topic.LogConfig gives a partition's log
// config, skipping the others.
//
// This package imports nothing of Tributary's but broker/log (for topic config
// validation). It must not import broker/kafka.
package cluster
