// Package broker assembles one Kafka-compatible broker node from its rooms:
// broker/log (storage), broker/cluster (metadata: topics, partitions, configs),
// broker/kafka (the wire server and one handler per API), and later
// broker/replication, broker/group and broker/txn.
//
// platform/ builds a Config, calls New, Start and Shutdown. broker/ never imports
// platform, pipelines, streams, plugins or connectors.
//
// Observability: Start registers the broker's Prometheus series on
// Config.Metrics (the request-path instruments of broker/metrics, and the
// scrape-time collectors of metrics_collectors.go that read log sizes,
// partition health, the controller and consumer group lag); Shutdown
// unregisters them. Readiness reports which start-up steps are done (logs,
// metadata, groups, transactions, listeners) for the node's /readyz.
package broker
