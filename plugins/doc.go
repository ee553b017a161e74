// Package plugins is the host side of connector plugins: it finds plugin
// binaries in a directory, starts them with hashicorp/go-plugin over gRPC
// (protocol in plugins/pluginpb), checks their handshake and manifest, and
// offers each plugin's source and sink as sdk.Source and sdk.Sink values that
// the connector runtime drives like in-process code.
//
// # Pieces
//
//   - Registry (registry.go): discovery in Config.Dir (default ./bin/plugins),
//     manifests with semantic versions, config validation by the plugin. A
//     Registry is a value; nothing registers itself globally.
//   - process (process.go): one running plugin binary — the go-plugin client,
//     the pipe whose end of file tells the plugin its host died, plugin
//     stdout/stderr and log lines forwarded to the host's slog logger, and a
//     heartbeat loop that kills a plugin that stops answering.
//   - Source and Sink (source.go, sink.go): supervised instances. Each owns a
//     process; when the process crashes, misses heartbeats or fails a call,
//     the instance is torn down and the call returns an error wrapping
//     ErrPluginFailed. The next call restarts it after an exponential backoff
//     (Config.Backoff, Config.Clock are injectable) and reopens a source at
//     the last position the host committed.
//   - batchSizer (batch.go): the number of records per call adapts to the
//     plugin's latency; the bytes per call stay under the gRPC message limit,
//     which is raised to fit Config.MaxMessageBytes (max.message.bytes).
//
// # The caller's loop
//
//	src, _ := reg.NewSource("file")
//	cfg, _ := reg.ParseConfig(ctx, "file", sdk.KindSource, raw) // every problem at once
//	src.Open(ctx, cfg, lastCommitted)
//	for {
//		recs, err := src.Read(ctx, 1000)
//		if errors.Is(err, plugins.ErrPluginFailed) { discard uncommitted records; continue }
//		... store recs durably, then src.Commit(ctx, positions)
//	}
//
// # Imports
//
// plugins imports sdk and plugins/pluginpb of this module, never broker:
// the connector runtime reaches the broker through the Kafka protocol.
package plugins
