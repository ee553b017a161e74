package kafka

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/metrics"
)

// serverMetrics are the server's instruments, resolved once so a request
// pays an atomic add, not a label lookup.
type serverMetrics struct {
	m *metrics.Metrics
	// latency is indexed by API key; nil for keys not served.
	latency []prometheus.Observer
}

func newServerMetrics(m *metrics.Metrics, served []*api) serverMetrics {
	sm := serverMetrics{m: m, latency: make([]prometheus.Observer, len(served))}
	for key, a := range served {
		if a != nil {
			sm.latency[key] = m.Request(kmsg.NameForKey(a.Key))
		}
	}
	return sm
}

// observeRequest records the latency of one served request.
func (sm serverMetrics) observeRequest(key int16, start time.Time) {
	if key >= 0 && int(key) < len(sm.latency) && sm.latency[key] != nil {
		sm.latency[key].Observe(time.Since(start).Seconds())
	}
}

// countError counts one error code answered by an API (a partition's code).
func (sm serverMetrics) countError(key int16, code int16) {
	name := "UNKNOWN_SERVER_ERROR"
	if e, ok := kerr.ErrorForCode(code).(*kerr.Error); ok {
		name = e.Message
	}
	sm.m.RequestError(kmsg.NameForKey(key), name)
}

// countFetched adds what a fetch reply returns to each topic's bytes and
// records out. Records are counted as offsets delivered from the fetch offset
// on: a fetch that starts inside a batch returns the whole batch, but the
// client skips the records before its offset.
func (sm serverMetrics) countFetched(targets [][]fetchTarget, reply *fetchReply) {
	for i := range reply.reads {
		for j := range reply.reads[i] {
			rr := &reply.reads[i][j]
			t := &targets[i][j]
			if rr.Size == 0 || t.p == nil {
				continue
			}
			tm := sm.m.Topic(t.p.TopicPartition().Topic)
			tm.BytesOut.Add(float64(rr.Size))
			if n := rr.NextOffset - t.req.FetchOffset; n > 0 {
				tm.RecordsOut.Add(float64(n))
			}
		}
	}
}
