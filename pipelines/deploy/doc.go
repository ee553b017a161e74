// Package deploy runs connectors and pipelines on workers.
//
// # Where things live
//
//   - Specs (a connector's flat configuration, a pipeline's manifest text,
//     whether it is paused, restart requests) are records in the compacted
//     topic __tributary_configs, keyed "<kind>/<name>"; a tombstone deletes.
//   - Status (state, worker, error of every connector task and pipeline) is
//     in the compacted topic __tributary_status.
//   - Source positions are in __tributary_offsets (package connect).
//
// EnsureTopics creates the three topics with kadm when they are missing,
// with three replicas, or one per broker on a smaller cluster.
//
// # Workers and assignment
//
// Every Worker joins the group __tributary_workers with a franz-go client
// whose custom GroupBalancer (balancer.go) does two things: it gives every
// member all partitions of __tributary_configs, so each worker reads every
// spec, and it hands every member the sorted list of live worker ids. Each
// worker then owns the units (connector tasks "connector/<name>/<task>",
// pipelines "pipeline/<name>") whose index in the sorted list of all units
// is its own index modulo the number of workers. Because every worker
// computes the same answer from the same specs and the same member list, a
// new or deleted spec needs no rebalance; a worker that joins or dies does
// (the group's session timeout bounds how long a dead worker's units wait).
// A unit that briefly runs on two workers during a change is harmless:
// source tasks fence each other by transactional id, and pipelines and sinks
// share their consumer groups.
//
// # Pipelines with connectors
//
// A pipeline whose input is a source connector, or with sink connector
// outputs, is run as units the workers already have (bridge.go): connector
// tasks named pipeline.<name>.source and pipeline.<name>.sink.<output>,
// each reading or writing the bridge topic of its name, and the pipeline
// itself, handed to the runner with those topics in place of its
// connectors. They are units of the pipeline's spec, so they pause, restart
// and stop with it, and they are not connector specs of their own.
//
// # Metrics and logs
//
// With Config.Metrics and Config.Registerer a worker exports per-pipeline
// records, errors, batch latency and consumer lag (metrics.go); it keeps the
// last lines every pipeline logged here for PipelineLogs (logs.go).
//
// # Ownership
//
// One goroutine (Worker.loop) owns the view of specs and statuses it
// consumes and the set of running units; the HTTP API and the CLI reach it
// through Worker methods, which write to the topics and wait until the loop
// has read their write back.
//
// deploy talks to the broker only through the Kafka protocol; it never
// imports broker, platform or cmd.
package deploy
