// Package connect is the connector runtime: it runs one task of a source or
// sink connector on franz-go, driving a plugin through the sdk.Source and
// sdk.Sink interfaces (plugins.Source and plugins.Sink in production).
//
// # Guarantees
//
//   - A source task writes each batch of records AND the batch's last source
//     position (to the compacted topic __tributary_offsets) in ONE Kafka
//     transaction, with the transactional id tributary-connector-<name>-<task>.
//     Only after the transaction commits does it tell the plugin (Commit).
//     On start it first fences any predecessor with that transactional id
//     (InitProducerId aborts the predecessor's open transaction), then reads
//     its last committed position with read_committed and opens the plugin
//     there. Records read but not committed are read again: exactly once
//     into the topic.
//   - A sink task consumes its topics in the consumer group connect-<name>
//     (read_committed, no auto-commit), writes a batch to the plugin, flushes
//     it, and only then commits the batch's offsets: at least once.
//
// # Errors
//
// Config.Tolerance says what happens to a record that fails: none (the task
// fails after the retries) or all (the record is skipped, and written to the
// dead-letter topic with the error in headers when one is configured).
// Plugin failures (plugins.ErrPluginFailed) are retried with exponential
// backoff for Config.RetryTimeout; the plugin host restarts the process and
// resumes it from the last committed position.
//
// A task's Run returns when its context is cancelled (nil) or when it failed
// for good (the error, also reported through TaskConfig.OnState). The caller
// owns the goroutine running Run.
//
// # Imports
//
// connect talks to the broker only through the Kafka protocol (franz-go); it
// imports sdk and, for its error vocabulary, plugins; never broker, platform
// or cmd.
package connect
