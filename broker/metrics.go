package broker

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tributary-io/tributary/broker/cluster"
)

// registerCollectors adds the scrape-time collectors over the broker's state
// to the registry of b.metrics, and keeps deleted topics from being exported.
// Call once the metadata, partitions, wire server and group coordinator exist;
// the collectors read them only while a scrape runs, so they cost nothing on
// the request path.
func (b *Broker) registerCollectors() error {
	m, srv := b.metrics, b.srv
	collectors := []prometheus.Collector{
		&partitionCollector{parts: b.parts},
		&clusterCollector{meta: b.meta, parts: b.parts, self: b.cfg.NodeID, defaults: b.cfg.LogDefaults},
		&groupCollector{groups: b.groups, parts: b.parts},
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tributary_connections", Help: "Open Kafka client connections.",
		}, func() float64 { return float64(srv.NumConns()) }),
	}
	for _, c := range collectors {
		if err := m.Register(c); err != nil {
			return fmt.Errorf("start metrics: %w", err)
		}
	}
	// Subscribe runs fn on the metadata's applying goroutine, which fn must not
	// call back into; RetainTopics does not.
	b.meta.Subscribe(func(snap *cluster.Snapshot) {
		m.RetainTopics(func(topic string) bool { _, ok := snap.Topics[topic]; return ok })
	})
	return nil
}
