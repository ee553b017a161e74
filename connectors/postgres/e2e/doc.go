// Package e2e tests the postgres connector plugin as the server runs it:
// the plugin binary, built once by TestMain, started and supervised by the
// plugins host (package plugins), against a real PostgreSQL (pgtest). Its
// host tests play the connector runtime's part: they read from the source,
// hand records to the sink or "commit" them, and call Commit.
//
// Tests: the plugin killed with SIGKILL at random moments while a writer
// changes the table (no committed change missing or repeated, the slot's
// confirmed LSN advances); a source to sink round trip between two
// databases ending with equal tables; errors through the host; the sdktest
// suites over the wire. Through a tributary node (package nodetest): the
// source connector snapshotting and streaming 50,000 rows while the plugin
// and the node are killed, checked on the topic with read_committed; a
// source and a sink connector copying a table between databases through a
// topic. Benchmarks: snapshot rows/s, streaming events/s and the lag from
// commit to the record reaching the host or being readable in the topic.
//
// The package has no non-test code; its tests import plugins, which the
// connector itself must not.
package e2e
