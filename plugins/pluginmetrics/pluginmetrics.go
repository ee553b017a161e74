package pluginmetrics

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Series names. Alert rules and dashboards use these exact strings.
const (
	// ConnectorState is 1 for a connector's current state and 0 for the other
	// States. Labels: connector, state.
	ConnectorState = "tributary_connector_state"
	// ConnectorTaskState is 1 for a connector task's current state and 0 for
	// the other States. Labels: connector, task (the task's number), state.
	ConnectorTaskState = "tributary_connector_task_state"
	// PipelineRecordsTotal counts a pipeline's records by outcome: read from
	// its input ("in"), written to its output ("out"), dropped by a filter
	// ("filtered"), or sent to its dead-letter topic ("dead_lettered").
	// Labels: pipeline, outcome.
	PipelineRecordsTotal = "tributary_pipeline_records_total"
	// PluginRestartsTotal counts restarts of a plugin process after a crash,
	// a missed heartbeat or a failed call. Labels: plugin (the plugin's name
	// from its manifest).
	PluginRestartsTotal = "tributary_plugin_restarts_total"
)

// States a connector or task can be in, as Kafka Connect names them (lower case).
var States = []string{"unassigned", "running", "paused", "failed", "restarting"}

// Outcomes of a pipeline record for PipelineRecordsTotal.
const (
	OutcomeIn           = "in"
	OutcomeOut          = "out"
	OutcomeFiltered     = "filtered"
	OutcomeDeadLettered = "dead_lettered"
)

// Names lists every series this package declares. Until the runtimes that
// update them run, a node's /metrics does not show them; deploy/'s test
// accepts exactly these names as declared-but-not-yet-exposed.
func Names() []string {
	return []string{ConnectorState, ConnectorTaskState, PipelineRecordsTotal, PluginRestartsTotal}
}

// Metrics are the worker runtimes' instruments on one registry.
type Metrics struct {
	connectorState *prometheus.GaugeVec
	taskState      *prometheus.GaugeVec
	// PipelineRecords counts pipeline records; use Pipeline for one pipeline.
	PipelineRecords *prometheus.CounterVec
	// PluginRestarts counts plugin process restarts by plugin name.
	PluginRestarts *prometheus.CounterVec
}

// New creates the instruments and registers them on reg.
func New(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		connectorState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: ConnectorState, Help: "1 for the connector's current state, 0 for the others.",
		}, []string{"connector", "state"}),
		taskState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: ConnectorTaskState, Help: "1 for the connector task's current state, 0 for the others.",
		}, []string{"connector", "task", "state"}),
		PipelineRecords: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: PipelineRecordsTotal, Help: "Pipeline records by outcome: in, out, filtered, dead_lettered.",
		}, []string{"pipeline", "outcome"}),
		PluginRestarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: PluginRestartsTotal, Help: "Restarts of a plugin process after a crash, missed heartbeat or failed call.",
		}, []string{"plugin"}),
	}
	for _, c := range []prometheus.Collector{m.connectorState, m.taskState, m.PipelineRecords, m.PluginRestarts} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register worker runtime metrics: %w", err)
		}
	}
	return m, nil
}

// SetConnectorState records a connector's current state: 1 for state, 0 for
// the other States. An unknown state is an error, so labels stay bounded.
func (m *Metrics) SetConnectorState(connector, state string) error {
	return setState(m.connectorState, state, connector)
}

// SetTaskState records a connector task's current state like SetConnectorState.
func (m *Metrics) SetTaskState(connector string, task int, state string) error {
	return setState(m.taskState, state, connector, fmt.Sprint(task))
}

// ForgetConnector removes a deleted connector's series and its tasks'.
func (m *Metrics) ForgetConnector(connector string) {
	m.connectorState.DeletePartialMatch(prometheus.Labels{"connector": connector})
	m.taskState.DeletePartialMatch(prometheus.Labels{"connector": connector})
}

// ForgetPipeline removes a deleted pipeline's series.
func (m *Metrics) ForgetPipeline(pipeline string) {
	m.PipelineRecords.DeletePartialMatch(prometheus.Labels{"pipeline": pipeline})
}

func setState(v *prometheus.GaugeVec, state string, labels ...string) error {
	known := false
	for _, s := range States {
		known = known || s == state
	}
	if !known {
		return fmt.Errorf("state %q: want one of %v", state, States)
	}
	for _, s := range States {
		val := 0.0
		if s == state {
			val = 1
		}
		v.WithLabelValues(append(labels, s)...).Set(val)
	}
	return nil
}
