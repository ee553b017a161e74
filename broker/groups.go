package broker

import (
	"context"
	"errors"
	"fmt"

	"github.com/tributary-io/tributary/broker/cluster"
	"github.com/tributary-io/tributary/broker/group"
)

// offsetsTopicConfigs are the topic configs of __consumer_offsets, as Kafka sets
// them: compacted, with 100 MiB segments so compaction keeps up.
func offsetsTopicConfigs() map[string]string {
	return map[string]string{"cleanup.policy": "compact", "segment.bytes": "104857600"}
}

// startGroups creates __consumer_offsets if it is missing, then starts the group
// coordinator on it, loading every partition. Call after the broker registered.
func (b *Broker) startGroups(ctx context.Context) error {
	cfg := b.cfg.Groups
	if cfg.Now == nil {
		cfg.Now = b.cfg.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = b.cfg.Logger.With("scope", "group")
	}
	cfg.EnsureDefaults()
	snap := b.meta.Snapshot()
	b.groupsLoadedAt = ledAt(snap, group.OffsetsTopic, b.cfg.NodeID)
	if t, ok := snap.Topic(group.OffsetsTopic); ok {
		// The topic decides: a group's partition must not move between restarts.
		cfg.Partitions = int32(len(t.Partitions))
	} else {
		rf := int16(min(3, max(len(snap.Brokers), 1)))
		_, err := b.meta.CreateTopic(group.OffsetsTopic, cfg.Partitions, rf, offsetsTopicConfigs(), false)
		if err != nil && !errors.Is(err, cluster.ErrTopicExists) {
			return fmt.Errorf("create %s: %w", group.OffsetsTopic, err)
		}
	}
	c, err := group.New(cfg, coordinatorLog{parts: b.parts, topic: group.OffsetsTopic, notCoordinator: group.ErrNotCoordinator})
	if err != nil {
		return err
	}
	if err := c.Start(ctx); err != nil {
		return fmt.Errorf("start group coordinator: %w", err)
	}
	b.groups = c
	return nil
}

// ledAt maps the partitions of topic that node leads in snap to their leader
// epochs.
func ledAt(snap *cluster.Snapshot, topic string, node int32) map[int32]int32 {
	out := map[int32]int32{}
	if t, ok := snap.Topic(topic); ok {
		for _, p := range t.Partitions {
			if p.Leader == node {
				out[p.ID] = p.LeaderEpoch
			}
		}
	}
	return out
}

// reloadOnFirstView reports whether a partition of an internal topic
// (__consumer_offsets, __transaction_state) this node leads in the first
// metadata view followCoordinators gets must be replayed again: its
// coordinator loaded every partition at start, complete only for those it
// already led then at the same epoch (loadedAt, from ledAt). One it came to
// lead in between (a preferred election right after a restart) may have
// taken writes from the old leader after it was loaded.
func reloadOnFirstView(loadedAt map[int32]int32, p cluster.Partition) bool {
	epoch, ok := loadedAt[p.ID]
	return !ok || epoch != p.LeaderEpoch
}
