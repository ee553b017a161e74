package deploy

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tributary-io/tributary/pipelines/runner"
	"github.com/tributary-io/tributary/plugins/pluginmetrics"
)

// Series the worker registers itself when Config.Registerer is set, next to
// pluginmetrics' tributary_pipeline_records_total.
const (
	// PipelineErrorsTotal counts records whose processing failed, whatever
	// onError then did with them.
	PipelineErrorsTotal = "tributary_pipeline_errors_total"
	// PipelineBatchLatency is the time from the poll that returned a batch
	// to its commit, for topic-to-topic pipelines without stateful steps.
	PipelineBatchLatency = "tributary_pipeline_batch_latency_seconds"
	// PipelineConsumerLag is the records between the last record a running
	// pipeline polled from each partition and the partition's end, summed.
	PipelineConsumerLag = "tributary_pipeline_consumer_lag"
)

// pipelineMetrics are the pipeline series this package declares; lag is
// read from the runners running on this worker when /metrics is scraped.
type pipelineMetrics struct {
	errors  *prometheus.CounterVec
	latency *prometheus.HistogramVec
	lagDesc *prometheus.Desc

	mu      sync.Mutex
	running map[string]*runner.Runner // by pipeline, while Run runs here
}

func newPipelineMetrics() *pipelineMetrics {
	return &pipelineMetrics{
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: PipelineErrorsTotal, Help: "Pipeline records whose processing failed (then dropped, dead-lettered or stopping the pipeline).",
		}, []string{"pipeline"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: PipelineBatchLatency, Help: "Pipeline batches from the poll that returned them to their commit.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}, []string{"pipeline"}),
		lagDesc: prometheus.NewDesc(PipelineConsumerLag,
			"Records between the last polled record of each partition a running pipeline reads and the partition's end.", []string{"pipeline"}, nil),
		running: map[string]*runner.Runner{},
	}
}

func (m *pipelineMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.errors, m.latency, m}
}

// Describe implements prometheus.Collector for the lag series.
func (m *pipelineMetrics) Describe(ch chan<- *prometheus.Desc) { ch <- m.lagDesc }

// Collect implements prometheus.Collector: the lag of every pipeline
// running here and measuring it (not the stateful ones).
func (m *pipelineMetrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for name, r := range m.running {
		ch <- prometheus.MustNewConstMetric(m.lagDesc, prometheus.GaugeValue, float64(r.Stats().Lag), name)
	}
}

// setRunning records the runner of pipeline name while it runs (nil: none).
func (m *pipelineMetrics) setRunning(name string, r *runner.Runner) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r == nil || r.Stateful() {
		delete(m.running, name)
		return
	}
	m.running[name] = r
}

// forget removes a deleted pipeline's series.
func (m *pipelineMetrics) forget(name string) {
	m.errors.DeleteLabelValues(name)
	m.latency.DeleteLabelValues(name)
}

// pipelineRecords adds a runner's committed batches to the pipeline's
// series: tributary_pipeline_records_total (records, when the worker has
// pluginmetrics), errors and batch latency (own, when it has a registerer).
// The series are looked up once per runner, so a batch costs a few atomic
// adds and no label lookups.
type pipelineRecords struct {
	in, out, filtered, deadLettered, errors prometheus.Counter
	latency                                 prometheus.Observer
}

func newPipelineRecords(records *pluginmetrics.Metrics, own *pipelineMetrics, pipeline string) *pipelineRecords {
	p := &pipelineRecords{}
	if records != nil {
		c := func(outcome string) prometheus.Counter {
			return records.PipelineRecords.WithLabelValues(pipeline, outcome)
		}
		p.in, p.out = c(pluginmetrics.OutcomeIn), c(pluginmetrics.OutcomeOut)
		p.filtered, p.deadLettered = c(pluginmetrics.OutcomeFiltered), c(pluginmetrics.OutcomeDeadLettered)
	}
	if own != nil {
		p.errors, p.latency = own.errors.WithLabelValues(pipeline), own.latency.WithLabelValues(pipeline)
	}
	return p
}

// AddRecords implements runner.RecordCounter. An errored record was also
// counted "in", and "dead_lettered" when it was written to the dead-letter
// topic.
func (p *pipelineRecords) AddRecords(in, out, filtered, errors, deadLettered uint64) {
	for _, a := range []struct {
		c prometheus.Counter
		n uint64
	}{{p.in, in}, {p.out, out}, {p.filtered, filtered}, {p.deadLettered, deadLettered}, {p.errors, errors}} {
		if a.c != nil && a.n > 0 {
			a.c.Add(float64(a.n))
		}
	}
}

// ObserveBatch implements runner.BatchObserver.
func (p *pipelineRecords) ObserveBatch(latency time.Duration) {
	if p.latency != nil {
		p.latency.Observe(latency.Seconds())
	}
}

var (
	_ runner.RecordCounter = (*pipelineRecords)(nil)
	_ runner.BatchObserver = (*pipelineRecords)(nil)
)

// syncConnectorMetrics sets every known connector's state series to its
// overall state (the one the REST status shows) and removes the series of
// deleted connectors and pipelines. Every worker reads the same status
// topic, so every node reports the same cluster-wide state; aggregate
// across nodes with max, not sum. Called by the reconcile loop only, which
// owns w.reported.
func (w *Worker) syncConnectorMetrics() {
	m := w.cfg.Metrics
	if m == nil && w.pipeMetrics == nil {
		return
	}
	seen := map[string]bool{}
	for _, s := range w.List(KindConnector) {
		key := s.Key()
		seen[key] = true
		if m == nil {
			continue
		}
		units, err := w.Statuses(KindConnector, s.Name)
		if err != nil {
			continue // deleted meanwhile: forgotten on the next pass
		}
		w.reported[key] = true
		if err := m.SetConnectorState(s.Name, Overall(s.Paused, units)); err != nil {
			w.log.Warn("connector state metric", "connector", s.Name, "error", err)
		}
	}
	for _, s := range w.List(KindPipeline) {
		seen[s.Key()] = true
		if s.bridge != nil {
			for _, c := range s.bridge.conns {
				seen[c.Key()] = true
			}
		}
	}
	for key := range w.reported {
		if seen[key] {
			continue
		}
		delete(w.reported, key)
		if name, ok := cutKind(key, KindConnector); ok && m != nil {
			m.ForgetConnector(name)
		} else if name, ok := cutKind(key, KindPipeline); ok {
			if m != nil {
				m.ForgetPipeline(name)
			}
			if w.pipeMetrics != nil {
				w.pipeMetrics.forget(name)
			}
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
