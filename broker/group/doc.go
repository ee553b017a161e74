// Package group is the group coordinator for Kafka's classic consumer group
// protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) and for committed offsets
// (OffsetCommit, OffsetFetch, OffsetDelete), with the admin side (DescribeGroups,
// ListGroups, DeleteGroups).
//
// Two layers:
//
//   - Group is a pure state machine, etcd-raft style: events (Join, Sync, Heartbeat,
//     Leave, ValidateCommit, Tick) carry the current time and return Effects — the
//     replies they release and whether the group's metadata must be stored first.
//     Requests whose answer must wait (JoinGroup until the rebalance completes,
//     SyncGroup until the leader's assignment arrives) are held as a Waiter and
//     answered by a later event. Timers — member sessions, the rebalance timeout,
//     group.initial.rebalance.delay.ms, the SyncGroup deadline — are deadlines fired
//     by Tick(now). No goroutines, no I/O, no clock: tests script it directly.
//   - Coordinator is the driver. It shards groups by their partition of the
//     compacted internal topic __consumer_offsets (abs(javaHashCode(group)) % 50, as
//     Kafka), serializes each shard with a mutex, writes offsets and group metadata
//     to that partition in Kafka's own record formats (OffsetCommitKey/Value,
//     GroupMetadataKey/Value; tombstones for deletions) before acknowledging them,
//     replays every partition on Start, ticks deadlines on one goroutine owned by
//     Start/Stop, and expires offsets per offsets.retention.minutes (KIP-211).
//
// A caller (the Kafka handler) calls a Coordinator method, which may block until
// the reply is released or the caller's context ends:
//
//	res := coord.JoinGroup(ctx, groupID, group.JoinRequest{...})
//	if res.Err != nil { /* map to a Kafka error code */ }
//
// Assignors run client-side, as in Kafka: the coordinator only picks the protocol
// every member supports (the most preferred by vote) and relays the leader's plan.
// Transactional offset commits (TxnOffsetCommit, txn.go) are written at once in
// a transactional batch of the producer and held as pending until the
// transaction coordinator writes the commit marker (CompleteTxn), which applies
// them, or the abort marker, which drops them; OffsetFetch reports pending
// partitions so require_stable fetches answer UNSTABLE_OFFSET_COMMIT. A restart
// keeps offsets whose marker has not been written yet pending.
//
// Static members (group.instance.id, KIP-345) keep their place across restarts: a
// known instance rejoining a Stable group gets its assignment back without a
// rebalance, and its previous member id is fenced.
//
// The package reaches storage only through the Log interface (the broker adapts
// its partition logs; MemLog is the in-memory one) and builds batches with
// broker/record. It must not import broker/kafka, platform, or anything above the
// broker; errors are sentinels that broker/kafka maps to Kafka error codes.
package group
