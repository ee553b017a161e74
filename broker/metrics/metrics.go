package metrics

import (
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Names of the series this package registers; deploy/ and the tests refer to
// them, so they are constants rather than strings repeated at each use.
const (
	TopicBytesIn       = "tributary_topic_bytes_in_total"
	TopicBytesOut      = "tributary_topic_bytes_out_total"
	TopicRecordsIn     = "tributary_topic_records_in_total"
	TopicRecordsOut    = "tributary_topic_records_out_total"
	RequestDuration    = "tributary_request_duration_seconds"
	PurgatorySize      = "tributary_purgatory_size"
	ISRShrinksTotal    = "tributary_isr_shrinks_total"
	ISRExpandsTotal    = "tributary_isr_expands_total"
	RequestErrorsTotal = "tributary_request_errors_total"
)

// requestBuckets span a fast metadata answer (sub-millisecond) to a fetch
// long-poll at the clients' usual fetch.max.wait (500ms) and beyond.
var requestBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Metrics is the broker's request-path instruments, registered on one
// Registerer. Methods are safe for concurrent use.
type Metrics struct {
	reg        prometheus.Registerer
	collectors []prometheus.Collector // registered by New and Register, removed by Unregister

	bytesIn, bytesOut, recordsIn, recordsOut *prometheus.CounterVec
	requests                                 *prometheus.HistogramVec
	requestErrors                            *prometheus.CounterVec
	purgatory                                *prometheus.GaugeVec

	// topics caches each topic's counters so the hot path does no label hashing.
	topics sync.Map // string -> *Topic

	// FetchPurgatory counts fetches waiting for data (long polls).
	FetchPurgatory prometheus.Gauge
	// ProducePurgatory counts acks=all produces waiting for followers. It stays
	// 0 while a leader's own append completes them (a single node).
	ProducePurgatory prometheus.Gauge
	// ISRShrinks counts partitions whose in-sync replica set lost a member on
	// this leader. The replication layer increments it.
	ISRShrinks prometheus.Counter
	// ISRExpands counts partitions whose in-sync replica set gained a member
	// on this leader. The replication layer increments it.
	ISRExpands prometheus.Counter
}

// Topic is one topic's traffic counters.
type Topic struct {
	// BytesIn counts record batch bytes appended by produce requests.
	BytesIn prometheus.Counter
	// BytesOut counts record batch bytes returned by fetch requests.
	BytesOut prometheus.Counter
	// RecordsIn counts records appended by produce requests.
	RecordsIn prometheus.Counter
	// RecordsOut counts offsets delivered by fetch requests: records, plus
	// any offsets removed by compaction inside the range a fetch covered.
	RecordsOut prometheus.Counter
}

// New creates the instruments and registers them on reg. A nil reg means a
// fresh private registry (the instruments work but nobody scrapes them).
func New(reg prometheus.Registerer) (*Metrics, error) {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	topicCounter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"topic"})
	}
	m := &Metrics{
		reg:        reg,
		bytesIn:    topicCounter(TopicBytesIn, "Record batch bytes appended to the topic by produce requests."),
		bytesOut:   topicCounter(TopicBytesOut, "Record batch bytes of the topic returned by fetch requests."),
		recordsIn:  topicCounter(TopicRecordsIn, "Records appended to the topic by produce requests."),
		recordsOut: topicCounter(TopicRecordsOut, "Offsets of the topic delivered by fetch requests."),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    RequestDuration,
			Help:    "Time from a decoded request to its built response, by Kafka API; fetch long-polls included.",
			Buckets: requestBuckets,
		}, []string{"api"}),
		requestErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: RequestErrorsTotal,
			Help: "Partitions or requests answered with a Kafka error code, by API and error name.",
		}, []string{"api", "error"}),
		purgatory: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: PurgatorySize,
			Help: "Requests held waiting: fetch long-polls, or acks=all produces waiting for followers.",
		}, []string{"operation"}),
		ISRShrinks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: ISRShrinksTotal, Help: "Times a partition led here dropped a replica from its in-sync set.",
		}),
		ISRExpands: prometheus.NewCounter(prometheus.CounterOpts{
			Name: ISRExpandsTotal, Help: "Times a partition led here added a replica to its in-sync set.",
		}),
	}
	m.FetchPurgatory = m.purgatory.WithLabelValues("fetch")
	m.ProducePurgatory = m.purgatory.WithLabelValues("produce")
	for _, c := range []prometheus.Collector{m.bytesIn, m.bytesOut, m.recordsIn, m.recordsOut,
		m.requests, m.requestErrors, m.purgatory, m.ISRShrinks, m.ISRExpands} {
		if err := m.Register(c); err != nil {
			m.Unregister()
			return nil, err
		}
	}
	return m, nil
}

// Register adds a collector to the same registry and remembers it, so that
// Unregister removes it too. The broker registers its scrape-time collectors
// this way.
func (m *Metrics) Register(c prometheus.Collector) error {
	if err := m.reg.Register(c); err != nil {
		return fmt.Errorf("register broker metrics: %w", err)
	}
	m.collectors = append(m.collectors, c)
	return nil
}

// Unregister removes everything New and Register added, so a new broker can
// register on the same registry (tests restart brokers in one process).
// Instruments keep working afterwards; their values are no longer exposed.
func (m *Metrics) Unregister() {
	for _, c := range m.collectors {
		m.reg.Unregister(c)
	}
	m.collectors = nil
}

// Topic returns the counters of a topic, creating them on first use.
func (m *Metrics) Topic(name string) *Topic {
	if t, ok := m.topics.Load(name); ok {
		return t.(*Topic)
	}
	t := &Topic{
		BytesIn:    m.bytesIn.WithLabelValues(name),
		BytesOut:   m.bytesOut.WithLabelValues(name),
		RecordsIn:  m.recordsIn.WithLabelValues(name),
		RecordsOut: m.recordsOut.WithLabelValues(name),
	}
	actual, _ := m.topics.LoadOrStore(name, t)
	return actual.(*Topic)
}

// RetainTopics drops the series of every topic for which keep returns false,
// so deleted topics stop being exported. The broker calls it on each metadata
// change.
func (m *Metrics) RetainTopics(keep func(topic string) bool) {
	m.topics.Range(func(k, _ any) bool {
		name := k.(string)
		if keep(name) {
			return true
		}
		m.topics.Delete(name)
		for _, v := range []*prometheus.CounterVec{m.bytesIn, m.bytesOut, m.recordsIn, m.recordsOut} {
			v.DeleteLabelValues(name)
		}
		return true
	})
}

// Request returns the latency observer of one API, by its Kafka name
// ("Produce", "Fetch"). Callers resolve it once per API and keep it.
func (m *Metrics) Request(api string) prometheus.Observer {
	return m.requests.WithLabelValues(api)
}

// RequestError counts one error answered by api; name is the Kafka error's
// name (UNKNOWN_TOPIC_OR_PARTITION), a bounded set.
func (m *Metrics) RequestError(api, name string) {
	m.requestErrors.WithLabelValues(api, name).Inc()
}
