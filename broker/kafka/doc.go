// Package kafka is the broker's Kafka wire server: it accepts TCP connections,
// frames requests (bounded by socket.request.max.bytes), decodes them with franz-go
// kmsg, dispatches each to its API handler (one file per API, named by key:
// 00_produce.go, 01_fetch.go, ...), and writes responses in request order per
// connection while connections are served concurrently.
//
// Handlers never lay out bytes by hand; kmsg encodes and decodes. The one place
// bytes are placed directly is the zero-copy fetch path, whose framing is tested
// for byte equality against kmsg. Before kmsg decodes a flexible request, its
// tagged-field sections are bounds-checked (request_guard.go), because kmsg's tag
// loops do not stop at the end of the input.
//
// Connections: one reader goroutine per connection decodes and handles requests
// in order. Small answers it writes itself when nothing is queued, holding them
// back while the client's next request is already buffered so a burst of
// pipelined requests is answered in one write; one writer goroutine sends the
// rest in order (large fetches, with sendfile for plaintext records), so
// reading the next request overlaps with writing a large answer.
// A handler panic is recovered and logged, and closes only its connection.
//
// Answers to bad input (each is logged; other connections are unaffected):
//   - size prefix negative or above socket.request.max.bytes (garbage, a 2 GiB
//     prefix, an HTTP request): the connection is closed before reading on;
//   - a frame shorter than a request header, a header or body that does not decode
//     at its version, tagged fields running past the end: closed;
//   - an API key not served: closed;
//   - a version outside the served range: ApiVersions answers UNSUPPORTED_VERSION
//     with a v0 body listing the served versions (KIP-511); any other API: closed
//     (Produce v0-v2 too, although ApiVersions lists Produce from v0 as Kafka 4.0
//     does, for librdkafka's compression check: see produceAdvertisedMin);
//   - a connection that ends mid-frame: closed;
//   - a produce batch with a bad CRC or a bad length: CORRUPT_MESSAGE for that
//     partition, the connection stays; a failed acks=0 produce closes it, as
//     Kafka does, so the client refreshes its metadata.
//
// Typed errors from broker/log, broker/cluster and broker/record map to Kafka
// error codes in errors.go, and only there.
//
// This package must not import platform, pipelines, streams, plugins or connectors.
package kafka
