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
