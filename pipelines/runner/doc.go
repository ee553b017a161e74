// Package runner runs one topic-to-topic pipeline on franz-go.
//
// A Runner starts spec.parallelism consumers in the consumer group
// tributary-pipeline-<name>. Each consumer owns one client and one
// process.Chain on its own goroutine and loops: poll a batch, run the
// processors on every record, produce the results (and dead letters), then:
//
//   - exactly-once (kgo.GroupTransactSession): the records, the dead letters
//     and the input offsets are committed in one transaction. A transaction
//     that aborts (rebalance, failed commit) rewinds to the committed
//     offsets, and stateful processors forget what they saw. Consumers use
//     static group membership and transactional ids made of the pipeline
//     name, Config.InstanceID and their index, so a process killed and
//     restarted takes its partitions back at once and fences its
//     predecessor's open transaction.
//   - at-least-once: produce, wait for every acknowledgement, then commit the
//     offsets; a crash between the two repeats the batch.
//
// Input is read with read_committed. Run returns when its context is
// cancelled, after committing the batch in hand and closing the clients; the
// runner owns and waits for every goroutine it starts. Stats counts records
// in, out, filtered, failed and dead-lettered, and batch latency.
//
// A pipeline with stateful steps (join, window, aggregate) runs instead as
// spec.parallelism streams Apps of the topology pipelines/stateful builds,
// with the consumer group as application id: changelog and repartition
// topics are named tributary-pipeline-<name>-..., the transactional id of
// each App is the group, InstanceID and its index, and exactly-once commits
// one transaction per CommitInterval. StoreHandler serves its local state.
//
// Connector inputs and outputs are rejected (ErrConnectorsNotSupported):
// workers run them as connectors writing to and reading from bridge topics,
// and give the runner the pipeline with those topics in their place.
//
// runner talks to the broker only through the Kafka protocol.
package runner
