// Package metrics holds the broker's Prometheus instruments that the request
// path updates: bytes and records in and out per topic, request latency per
// API, purgatory sizes and ISR changes. Collectors that read state at scrape
// time (log sizes, partition health, consumer lag) live in package broker,
// which owns the state they read.
//
// Every name starts with "tributary_", uses base units (seconds, bytes) and
// ends counters in "_total". Labels are bounded by the metadata: topic,
// partition, API name, consumer group and a few fixed enumerations. Never add
// a client id, a connection, a member id or anything a client chooses freely
// as a label: each distinct value is a new series kept until restart.
//
// Instruments are registered on a Registerer the caller injects (the node's
// registry); nothing here touches the global default registry. The hot path
// pays an atomic add per update: per-topic counters are resolved once per
// topic and cached.
//
// This package imports only the Prometheus client, so every broker package
// (kafka, replication, group, txn) may use it without cycles.
package metrics
