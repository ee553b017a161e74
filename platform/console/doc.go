// Package console is the node's web console: server-rendered HTML pages
// (html/template, assets embedded with embed, a little dependency-free
// JavaScript) under /console/ on the HTTP port, showing the cluster, topics
// with a message browser, consumer groups with lag over time, and
// connectors and pipelines.
//
// The console is a Kafka client of the node it runs in: every broker-side
// fact comes over the Kafka protocol (franz-go kadm and kgo), so the same
// pages work against any Kafka-compatible cluster. Connectors and pipelines
// come from a Workers implementation the caller supplies.
//
// It must not import broker, platform or pipelines: the node adapts its
// worker to the Workers interface, not the other way round.
package console
