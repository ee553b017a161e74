// Package txn owns Kafka's exactly-once machinery on the broker: producer ids,
// idempotent appends, the transaction coordinator and what read_committed
// consumers need (the last stable offset and the aborted transactions).
//
// Three parts:
//
//   - IDManager hands out producer ids from blocks reserved through a
//     BlockAllocator (a cluster metadata command), so an id never repeats, not
//     even across restarts.
//
//   - PartitionState is the producer state of one partition: per producer id the
//     epoch, the last five batches (sequence range and offsets) and the open
//     transaction's first offset; plus the index of aborted transactions. Before
//     an append, Check refuses stale epochs (INVALID_PRODUCER_EPOCH), sequence
//     gaps and new epochs not starting at 0 (OUT_OF_ORDER_SEQUENCE_NUMBER) and
//     control batches from clients, accepts any sequence from a producer it has
//     no state for (as Kafka 2.8+ does; it never answers UNKNOWN_PRODUCER_ID),
//     and recognises a retried batch, which is answered with its original
//     offsets and not written again. After the append, Appended
//     records the batches. The caller holds one lock across Check, the log append
//     and Appended, so the state always matches the log (replication.Partition
//     does). The state is rebuilt on open from the newest <offset>.snapshot file
//     in the partition folder plus the log after it (snapshot.go documents the
//     format), snapshotted every StateConfig.SnapshotBytes and on a clean close,
//     and producers idle past producer.id.expiration.ms are forgotten. A
//     follower (issue 6) calls Appended for what it copies from its leader, and
//     Reload after truncating its log.
//
//   - The transaction coordinator. Txn is a pure state machine (Kafka's states:
//     Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort,
//     Dead, PrepareEpochFence): each transition takes the time and returns the
//     next value, with no I/O and no clock. Coordinator is the driver: it shards
//     transactional ids by their partition of the compacted topic
//     __transaction_state (abs(javaHashCode(id)) % 50, as Kafka), stores every
//     transition there (TxnMetadataKey/TxnMetadataValue) before installing it,
//     writes commit or abort markers (control batches) to every partition of a
//     transaction through a MarkerWriter, aborts transactions past
//     transaction.timeout.ms with a bumped epoch (fencing the producer), and on
//     Start reloads every partition and finishes transactions that were deciding.
//
// The order for EndTxn: store PrepareCommit (the decision is durable, the answer
// is success), write every marker, store CompleteCommit. A marker that fails
// leaves the transaction prepared; the background tick and the id's next request
// retry it. Writing a marker twice is harmless.
//
// The package reaches storage only through the Log and MarkerWriter interfaces
// and *log.Log (for rebuilding producer state). It imports broker/record and
// broker/log; it must not import broker/replication, broker/group, broker/kafka,
// platform, or anything above the broker. Errors are sentinels that broker/kafka
// maps to Kafka error codes.
package txn
