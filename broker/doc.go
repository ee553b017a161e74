// Package broker assembles one Kafka-compatible broker node from its rooms:
// broker/log (storage), broker/cluster (metadata: topics, partitions, configs),
// broker/kafka (the wire server and one handler per API), and later
// broker/replication, broker/group and broker/txn.
//
// platform/ builds a Config, calls New, Start and Shutdown. broker/ never imports
// platform, pipelines, streams, plugins or connectors.
package broker
