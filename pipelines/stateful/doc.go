// Package stateful declares the stateful pipeline steps — aggregate, window
// and join — in YAML and builds them into a streams topology, so a pipeline
// gets exactly-once stateful processing from the streams runtime.
//
// A Spec reads like this:
//
//	input: views
//	timestamp: value.at            # event time (ms); default: record time
//	join:                          # enrich with a table read from a topic
//	  table: users                 # its key must equal the record key
//	  as: user                     # the row goes to value.user (null if none)
//	key: value.user                # group key expression (a string)
//	window: {type: tumbling, size: 5m, grace: 1m, emit: final}
//	aggregate: {op: count}         # count | sum | min | max | avg | collect
//	output: views-per-user
//
// Values are JSON documents; expressions are expr-lang over key (string),
// value (the decoded document) and timestamp (ms). The output record of a
// windowed aggregate has the group key as key and
// {"key", "start", "end", "value"} as value; without a window it is
// {"key", "value"}. Build returns the topology; run it with streams.New
// (exactly-once by default) or streamstest.
//
// The pipeline manifest (pipelines/spec) does not route these step types here
// yet; this package is the runtime half. It imports streams and expr-lang,
// never broker/.
package stateful
