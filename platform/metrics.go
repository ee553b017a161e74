package platform

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tributary-io/tributary/plugins/pluginmetrics"
)

// newRegistry returns the registry /metrics serves: Go runtime and process
// series, plus the worker runtimes' declared series. The broker registers its
// own when it starts. It is never Prometheus's global default registry, so
// two nodes in one process (tests) do not share series.
func newRegistry() (*prometheus.Registry, *pluginmetrics.Metrics, error) {
	reg := prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, nil, fmt.Errorf("register runtime metrics: %w", err)
		}
	}
	wm, err := pluginmetrics.New(reg)
	if err != nil {
		return nil, nil, err
	}
	return reg, wm, nil
}

// MetricsRegisterer is where components the node runs register their own
// Prometheus collectors (connectors, pipelines and plugins as they arrive),
// so /metrics serves them. Follow the naming rules in broker/metrics and
// plugins/pluginmetrics: "tributary_" prefix, base units, "_total" counters,
// and labels bounded by what the operator declared.
func (n *Node) MetricsRegisterer() prometheus.Registerer { return n.registry }

// WorkerMetrics are the declared series of the worker runtimes (connector
// and task states, pipeline records, plugin restarts), already registered.
// The node hands them to the runtimes it starts.
func (n *Node) WorkerMetrics() *pluginmetrics.Metrics { return n.workerMetrics }
