package broker

import (
	"fmt"
	"slices"

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
	// call back into; RetainTopics does not. prev is only touched there.
	var prev *cluster.Snapshot
	b.meta.Subscribe(func(snap *cluster.Snapshot) {
		m.RetainTopics(func(topic string) bool { _, ok := snap.Topics[topic]; return ok })
		shrinks, expands := isrChanges(prev, snap, b.cfg.NodeID)
		m.ISRShrinks.Add(float64(shrinks))
		m.ISRExpands.Add(float64(expands))
		prev = snap
	})
	return nil
}

// isrChanges counts the partitions led by self in next whose in-sync set
// lost (shrinks) or gained (expands) a member since prev: whether the
// leader asked for the change or the controller made it (fencing a dead
// broker), as the metadata records it.
func isrChanges(prev, next *cluster.Snapshot, self int32) (shrinks, expands int) {
	if prev == nil {
		return 0, 0
	}
	for name, t := range next.Topics {
		old, ok := prev.Topics[name]
		if !ok || old.ID != t.ID {
			continue
		}
		for i, p := range t.Partitions {
			if p.Leader != self || i >= len(old.Partitions) {
				continue
			}
			was := old.Partitions[i].ISR
			if slices.ContainsFunc(was, func(id int32) bool { return !slices.Contains(p.ISR, id) }) {
				shrinks++
			}
			if slices.ContainsFunc(p.ISR, func(id int32) bool { return !slices.Contains(was, id) }) {
				expands++
			}
		}
	}
	return shrinks, expands
}
