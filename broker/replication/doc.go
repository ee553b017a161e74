// Package replication owns the local replicas of partitions: for each partition
// this node hosts, its *log.Log, its high watermark, and the waiter registry that
// wakes fetch long-polls when the partition changes.
//
// A Manager keeps the set of Partitions in line with the cluster metadata: it is
// fed every metadata Snapshot (Subscribe to a cluster.Local, or call Reconcile) and
// opens the logs of partitions whose replicas include this node (config = the
// broker's log defaults with the topic's overrides), applies changed topic configs
// to open logs, and removes the logs of deleted topics (setting aside, never deleting, folders on disk
// that the metadata no longer knows).
//
// Invariants:
//   - the high watermark never exceeds the log end offset and never goes back
//     while the log is not truncated; on a single node it equals the log end
//     offset after every append (issue 6 replaces this with the ISR rule);
//   - every append that succeeds wakes every Waiter registered on the partition,
//     so a fetch watching many partitions blocks on one channel, with no goroutine
//     per partition;
//   - Partition lookups never block on reconciliation: the partition table is an
//     immutable map swapped atomically;
//   - with a ProducerState (Config.ProducerState, broker/txn), the producer check,
//     the log append and the state update happen under one lock per partition,
//     so idempotence and the last stable offset always match the log; a retried
//     batch is answered with its original offsets and not written again.
//
// The loop a fetch writes:
//
//	w := replication.NewWaiter()
//	for each partition p: p.Watch(w); defer p.Unwatch(w)
//	for {
//		read every partition up to p.HighWatermark()
//		if enough bytes or deadline: answer
//		select { case <-w.C(): case <-timer: case <-shutdown: }
//	}
//
// Inter-broker connections (replica fetchers, PeerConn for transaction
// markers) go through a PeerDialer (dial.go): the peer's inter-broker
// listener as it registered it, TLS and SASL (franz-go's client mechanisms)
// as that listener's protocol needs, then the plain request loop of wire.go.
//
// This package imports broker/log and broker/cluster; it must not import
// broker/kafka or anything above the broker.
package replication
