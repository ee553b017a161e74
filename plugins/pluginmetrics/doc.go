// Package pluginmetrics declares the Prometheus series of the worker runtimes
// that sit above the broker: connectors and their tasks, pipelines, and the
// plugin processes that run connector code. It is the one place their names,
// help texts and labels are written, so the node's /metrics, the alert rules
// and the dashboard in deploy/ agree before those runtimes exist.
//
// The node (platform) creates a Metrics on its registry and hands it to the
// runtimes it starts; a runtime updates the instruments and never creates its
// own copies of these names. A runtime that needs further series registers
// its own collectors on the Registerer the node gives it (platform.Node's
// MetricsRegisterer), under the same naming rules:
//
//   - "tributary_" prefix, base units (seconds, bytes), counters end in "_total";
//   - labels bounded by what an operator declared: a connector, pipeline or
//     plugin name, a task number, a state from a fixed list. Never a record
//     key, an offset, a file name or a client id.
//
// Until a runtime updates them, these vectors have no series, so /metrics
// does not list them; Names is the explicit list deploy/'s test accepts for
// them.
//
// pluginmetrics imports only the Prometheus client: plugins and pipelines may
// import it, and it must not import anything of this module.
package pluginmetrics
