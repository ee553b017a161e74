package broker

import (
	"context"
	"errors"
	"fmt"

	"github.com/tributary-io/tributary/broker/cluster"
	"github.com/tributary-io/tributary/broker/group"
	"github.com/tributary-io/tributary/broker/record"
	"github.com/tributary-io/tributary/broker/replication"
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
	c, err := group.New(cfg, offsetsLog{parts: b.parts})
	if err != nil {
		return err
	}
	if err := c.Start(ctx); err != nil {
		return fmt.Errorf("start group coordinator: %w", err)
	}
	b.groups = c
	return nil
}

// offsetsLog adapts the replicas of __consumer_offsets to group.Log.
type offsetsLog struct {
	parts *replication.Manager
}

// replayChunk is how many bytes Replay reads at a time.
const replayChunk = 1 << 20

func (o offsetsLog) partition(p int32) (*replication.Partition, error) {
	part, err := o.parts.Partition(group.OffsetsTopic, p)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", group.ErrNotCoordinator, err)
	}
	return part, nil
}

// Append writes one batch; on a single node it is committed once written. The
// coordinator's batches are the broker's own (transactional offset commits carry
// the producer's id but no sequence; markers are control batches).
func (o offsetsLog) Append(p int32, batch []byte) error {
	part, err := o.partition(p)
	if err != nil {
		return err
	}
	return appendReplicated(part, batch, group.ErrNotCoordinator)
}

// Replay reads the partition from its start to its high watermark.
func (o offsetsLog) Replay(p int32, fn func(batch []byte) error) error {
	if _, err := o.parts.Partition(group.OffsetsTopic, p); errors.Is(err, cluster.ErrUnknownTopic) {
		return nil // not a replica here (a cluster): nothing to load
	}
	part, err := o.partition(p)
	if err != nil {
		return err
	}
	off := part.StartOffset()
	var buf []byte
	for off < part.HighWatermark() {
		rr, err := part.Read(off, replayChunk, part.HighWatermark(), true)
		if err != nil {
			return err
		}
		buf, err = rr.AppendBytes(buf[:0])
		next := rr.NextOffset
		rr.Release()
		if err != nil {
			return err
		}
		if next <= off {
			break
		}
		for rest := buf; len(rest) > 0; {
			var batch []byte
			batch, rest, _, err = record.Next(rest)
			if err != nil {
				return fmt.Errorf("replay %s-%d at %d: %w", group.OffsetsTopic, p, off, err)
			}
			if err := fn(batch); err != nil {
				return err
			}
		}
		off = next
	}
	return nil
}
