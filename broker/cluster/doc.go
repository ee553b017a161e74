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
// This package imports nothing of Tributary's but broker/log (for topic config
// validation). It must not import broker/kafka.
package cluster
