package deploy

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tributary-io/tributary/pipelines/runner"
	"github.com/tributary-io/tributary/plugins/pluginmetrics"
)

// pipelineRecords adds a runner's committed batches to the pipeline's
// tributary_pipeline_records_total series. The counters are looked up once
// per runner, so a batch costs four atomic adds and no label lookups.
type pipelineRecords struct {
	in, out, filtered, deadLettered prometheus.Counter
}

func newPipelineRecords(m *pluginmetrics.Metrics, pipeline string) *pipelineRecords {
	c := func(outcome string) prometheus.Counter { return m.PipelineRecords.WithLabelValues(pipeline, outcome) }
	return &pipelineRecords{
		in: c(pluginmetrics.OutcomeIn), out: c(pluginmetrics.OutcomeOut),
		filtered: c(pluginmetrics.OutcomeFiltered), deadLettered: c(pluginmetrics.OutcomeDeadLettered),
	}
}

// AddRecords implements runner.RecordCounter. Errors has no outcome of its
// own: an errored record was counted "in", and "dead_lettered" when it was
// written to the dead-letter topic.
func (p *pipelineRecords) AddRecords(in, out, filtered, _, deadLettered uint64) {
	for _, a := range []struct {
		c prometheus.Counter
		n uint64
	}{{p.in, in}, {p.out, out}, {p.filtered, filtered}, {p.deadLettered, deadLettered}} {
		if a.n > 0 {
			a.c.Add(float64(a.n))
		}
	}
}

var _ runner.RecordCounter = (*pipelineRecords)(nil)

// syncConnectorMetrics sets every known connector's state series to its
// overall state (the one the REST status shows) and removes the series of
// deleted connectors and pipelines. Every worker reads the same status
// topic, so every node reports the same cluster-wide state; aggregate
// across nodes with max, not sum. Called by the reconcile loop only, which
// owns w.reported.
func (w *Worker) syncConnectorMetrics() {
	m := w.cfg.Metrics
	if m == nil {
		return
	}
	seen := map[string]bool{}
	for _, s := range w.List(KindConnector) {
		units, err := w.Statuses(KindConnector, s.Name)
		if err != nil {
			continue // deleted meanwhile: forgotten on the next pass
		}
		key := s.Key()
		seen[key] = true
		w.reported[key] = true
		if err := m.SetConnectorState(s.Name, Overall(s.Paused, units)); err != nil {
			w.log.Warn("connector state metric", "connector", s.Name, "error", err)
		}
	}
	for _, s := range w.List(KindPipeline) {
		seen[s.Key()] = true
	}
	for key := range w.reported {
		if seen[key] {
			continue
		}
		delete(w.reported, key)
		if name, ok := cutKind(key, KindConnector); ok {
			m.ForgetConnector(name)
		} else if name, ok := cutKind(key, KindPipeline); ok {
			m.ForgetPipeline(name)
		}
	}
}

// cutKind returns the name of a spec key of kind.
func cutKind(key string, kind Kind) (string, bool) {
	l := len(kind) + 1
	if len(key) > l && key[:l] == string(kind)+"/" {
		return key[l:], true
	}
	return "", false
}
