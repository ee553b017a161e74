// Package stateful runs the stateful steps of a Pipeline manifest — join,
// window and aggregate — on the streams runtime, so a YAML pipeline gets
// exactly-once stateful processing.
//
// Compile turns a validated spec.Pipeline (one with spec.Pipeline.Stateful)
// into a Plan: the runs of stateless processors between the stateful steps
// compiled as process Programs, and the stateful steps' key and field
// expressions compiled as one-processor Programs (map key / map value), so
// every expression compiles, runs and reports errors exactly as in the other
// processors, at its place in the manifest. Plan.Topology builds the streams
// topology:
//
//	source(input topics, bytes)
//	  → chain(stateless processors before)
//	  → [join: set key → repartition → left join with FromTable(table) → inner filter]
//	  → chain(processors between)
//	  → [aggregate: group key and field → repartition → (windowed) aggregate → results]
//	  → chain(processors after, route) → one sink per output topic
//
// Each chain runs in a per-task processor with its own process.Chain, made
// again whenever the runtime rebuilds a task (after an aborted transaction
// or a move), so dedupe state never outlives the records it saw. An
// aggregate's state is one JSON accumulator per group (or window) holding
// enough for every op; its output record is keyed by the group with value
// {"key", "value"}, plus "start" and "end" (Unix ms) when windowed. Record
// errors follow onError: stop returns an error wrapping ErrRecord from the
// topology, drop counts it; spec validation refuses dead letters, since the
// runtime carries no headers.
//
// Plan.Offline runs a plan on the streams test driver (for `tributary
// pipeline test`), and Plan.QueryHandler serves the plan's stores read-only
// over HTTP. Running it against a broker is package runner's job.
//
// stateful imports pipelines/spec, pipelines/process, streams and franz-go's
// kgo record type; never broker/ or platform/.
package stateful
