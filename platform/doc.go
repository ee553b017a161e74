// Package platform assembles one Tributary node: it loads the node's
// configuration (YAML file, then TRIBUTARY_* environment variables, then
// command-line flags), builds the broker from it, and runs the node's HTTP
// server beside the broker.
//
// A caller writes:
//
//	cfg, err := platform.Load(platform.Sources{File: path, Env: os.LookupEnv, Flags: fs})
//	node, err := platform.New(cfg)
//	err = node.Start(ctx)       // returns once clients can connect
//	...                         // wait for a signal
//	err = node.Shutdown(ctx)    // stops in reverse order, flushes logs
//
// Start order: the HTTP server first (so /healthz answers and /readyz says
// 503 while the broker recovers its logs), then the broker, then /readyz turns
// 200. Shutdown reverses it: /readyz turns 503, the broker drains and flushes,
// then the HTTP server stops.
//
// The HTTP server (http.go) answers /healthz, /readyz (each broker start-up
// check), /metrics and GET/PUT /admin/log-level. /metrics serves one registry
// per node (metrics.go): Go and process collectors, the broker's series
// (registered by the broker on Config.Metrics when it starts) and the worker
// runtimes' declared series (plugins/pluginmetrics). Components the node will
// run register theirs through Node.MetricsRegisterer; nothing uses the global
// default registry. The log level is a slog.LevelVar shared by every logger
// of the node.
//
// platform imports broker (and, in later issues, pipelines, plugins and
// streams). It must not be imported by anything under broker/, and nothing in
// it may reach into a broker sub-package except broker/log for topic config
// names and broker/group for the group coordinator's config.
package platform
