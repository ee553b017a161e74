// Package streams is Tributary's stream-processing library: a typed topology
// DSL (sources, stateless operators, grouping into tables, windowed
// aggregation, joins, punctuators) and the runtime that executes it with
// exactly-once results against any Kafka-protocol broker.
//
// # Model
//
// A [Builder] collects a graph of processors. Sources read topics; a
// GroupBy that changes the key writes through an internal repartition topic
// and a new source reads it back, so the graph falls apart into
// sub-topologies connected only through topics. A task is one sub-topology at
// one partition number: it owns the records of partition p of every topic of
// its sub-topology (topics of one sub-topology must have the same partition
// count — they are co-partitioned) and the state stores of its processors.
//
// # Runtime
//
// An [App] joins a consumer group with the range assignor, which gives
// partition p of every subscribed topic to the same member, so a task's
// inputs always land together. Each state store keeps a compacted changelog
// topic with one partition per task; a task that moves restores its stores
// from the changelog before it processes a record ([App.RestoreProgress]).
//
// With exactly-once on (the default) the App runs kgo's GroupTransactSession:
// output records, repartition records, changelog records and the consumed
// offsets of one commit interval are committed in one transaction. When a
// transaction aborts (a rebalance, an error) every task is dropped and later
// restored from the changelog, since its in-memory state holds writes that
// never committed. A fenced instance drops all its tasks and Run returns
// an error wrapping [ErrFenced].
//
// # Invariants
//
//   - Everything a task does happens on the goroutine running [App.Run];
//     interactive queries ([App.Store]) take the App's lock.
//   - Stores hold serialized keys, so ranges follow the byte order of the
//     key serde, as in Kafka Streams.
//
// The package talks to the broker only through franz-go (kgo, kadm) and must
// not import broker/, platform/, pipelines/, plugins/ or connectors/.
package streams
