// Package pipelines turns YAML manifests into runnable pipelines: Load reads
// files and directories of Kubernetes-style manifests (kind Topic, Connector
// or Pipeline), validates all of them before anything runs, and compiles
// every pipeline's expressions once.
//
// # Pieces
//
//   - spec: the manifest schema, decoded from yaml.v3 nodes so every problem
//     carries file, line and column; structural validation.
//   - process: the record environment expressions see, expression
//     compilation with cost limits, and the processors (parse, filter, map,
//     set, delete, route, sample, dedupe) run by a per-goroutine Chain.
//   - runner: one pipeline on franz-go — a consumer group reading the input
//     topics, the processors, and produce to the output topics, exactly once
//     (one transaction per batch) or at least once.
//   - pipetest: `tributary pipeline test`, a pipeline's processors run offline
//     against records from a file and compared with the expected output.
//
// # Validation
//
// Load reports every problem at once, sorted by file and position, as
// spec.Problems (`file:line:col: path: message`). Connector configurations
// are validated by their plugin when Options.Connectors is set (a
// *plugins.Registry); without it only their structure is checked and
// Bundle.Notes says so.
//
// # Imports
//
// pipelines reaches the broker only through the Kafka protocol (franz-go);
// it never imports broker/, platform/, cmd/ or connectors/ (see
// platform/layering_test.go). It may import plugins and sdk.
package pipelines
