// Package sdk is what a connector plugin author imports: the Source and Sink
// interfaces, the Record that crosses the plugin boundary, a declared config
// spec used both to validate configurations and to document them, and Serve,
// which a plugin's main calls to talk to the Tributary host.
//
// # The plugin's side of the contract
//
// A plugin binary declares a Plugin (name, semantic version, a SourceDef
// and/or a SinkDef) and hands it to Serve. The host starts the binary, checks
// the handshake and the manifest, validates configurations against the
// declared ConfigSpec (and the optional cross-field Validate hook), and then
// drives instances:
//
//	source: Open(cfg, last committed position) → Read → Read → … → Close
//	        Commit(positions) whenever the host has durably stored records
//	sink:   Open(cfg) → Write → Write → Flush → … → Close
//
// Invariants a Source must keep:
//   - every record carries a Position, an opaque value that, passed to Open,
//     resumes reading with the record after it, no earlier and no later;
//   - Read returns at most the asked number of records and waits no longer
//     than its context allows;
//   - the host may discard records it has read but not committed (after a
//     crash, for example) and reopen at an earlier position: a Source must not
//     assume that reading a record means it was delivered.
//
// A Sink may consider records durable only after Flush returned; the host
// redelivers everything written after the last successful Flush when a sink
// fails, so sinks are at-least-once (effectively-once when idempotent).
//
// Optional capabilities are separate interfaces found by type assertion
// (Committer), so the base interfaces stay small.
//
// # Imports
//
// sdk imports none of this module except plugins/pluginpb, the gRPC protocol
// it shares with the host. The conversion helpers in wire.go exist so the host
// can reuse them; plugin authors do not need them.
package sdk
