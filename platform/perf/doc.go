// Package perf measures a Kafka-compatible broker from the outside, the way
// Kafka's producer/consumer perf-test tools do: it produces and consumes with
// franz-go, paces to a target rate, records latencies in a log-linear histogram
// and reports records/s, MB/s and latency percentiles as text or JSON. It also
// measures the limits of the machine it runs on (sequential file write and
// read, loopback TCP copy), so a broker figure can be shown as a ratio to what
// the same hardware does without a broker.
//
// `tributary perf` and the `make bench` harness (perf/bench) both use it.
//
// perf is a Kafka client: it talks to the broker only over the wire and must
// not import broker/ (or anything of ours above platform).
package perf
