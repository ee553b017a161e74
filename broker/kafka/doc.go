// Package kafka is the broker's Kafka wire server: it accepts TCP connections,
// frames requests (bounded by socket.request.max.bytes), decodes them with franz-go
// kmsg, dispatches each to its API handler (one file per API, named by key:
// 00_produce.go, 01_fetch.go, ...), and writes responses in request order per
// connection while connections are served concurrently.
//
// Handlers never lay out bytes by hand; kmsg encodes and decodes. The one place
// bytes are placed directly is the zero-copy fetch path, whose framing is tested
// for byte equality against kmsg.
//
// Typed errors from broker/log, broker/cluster and broker/record map to Kafka
// error codes in errors.go, and only there.
//
// This package must not import platform, pipelines, streams, plugins or connectors.
package kafka
