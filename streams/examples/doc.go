// Package examples holds example topologies built with streams: word count,
// page views per user per 5-minute window, and orders enriched with
// customers. Each function adds its processors to a Builder; the tests run
// them with streamstest, and the streams package's broker tests run word
// count with exactly-once against a real broker. It imports only streams.
package examples
