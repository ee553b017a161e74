package broker

import (
	"context"
	"errors"
	"fmt"

	"github.com/tributary-io/tributary/broker/cluster"
	"github.com/tributary-io/tributary/broker/log"
	"github.com/tributary-io/tributary/broker/replication"
	"github.com/tributary-io/tributary/broker/txn"
)

// transactionStateConfigs are the topic configs of __transaction_state, as Kafka
// sets them: compacted, with 100 MiB segments so compaction keeps up.
func transactionStateConfigs() map[string]string {
	return map[string]string{"cleanup.policy": "compact", "segment.bytes": "104857600"}
}

// txnConfig is the broker's transaction config with its clock and logger.
func (b *Broker) txnConfig() txn.Config {
	cfg := b.cfg.Txn
	if cfg.Now == nil {
		cfg.Now = b.cfg.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = b.cfg.Logger.With("scope", "txn")
	}
	cfg.EnsureDefaults()
	return cfg
}

// producerStateOpener opens each partition's producer state for the
// replication layer (idempotence, transactions, read_committed).
func (b *Broker) producerStateOpener() replication.ProducerStateOpener {
	cfg := b.txnConfig().State
	return func(tp log.TopicPartition, l *log.Log) (replication.ProducerState, error) {
		st, err := txn.OpenPartition(l, tp.String(), cfg)
		if err != nil {
			return nil, err
		}
		return st, nil
	}
}

// startTxns creates __transaction_state if it is missing, then starts the
// transaction coordinator on it, loading every partition and finishing the
// transactions that were deciding. Call after startGroups: markers for
// __consumer_offsets go through the group coordinator.
func (b *Broker) startTxns(ctx context.Context) error {
	cfg := b.txnConfig()
	snap := b.meta.Snapshot()
	// What this node leads now is loaded completely below; followCoordinators
	// reloads anything it leads in its first view that is not in this map.
	b.txnsLoadedAt = ledAt(snap, txn.StateTopic, b.cfg.NodeID)
	if t, ok := snap.Topic(txn.StateTopic); ok {
		// The topic decides: an id's partition must not move between restarts.
		cfg.Partitions = int32(len(t.Partitions))
	} else {
		rf := int16(min(3, max(len(snap.Brokers), 1)))
		_, err := b.meta.CreateTopic(txn.StateTopic, cfg.Partitions, rf, transactionStateConfigs(), false)
		if err != nil && !errors.Is(err, cluster.ErrTopicExists) {
			return fmt.Errorf("create %s: %w", txn.StateTopic, err)
		}
	}
	ids := txn.NewIDManager(b.meta, b.cfg.NodeID, cfg.ProducerIDBlock)
	markers := markerWriter{node: b.cfg.NodeID, meta: b.meta, parts: b.parts, groups: b.groups, now: cfg.Now}
	c, err := txn.New(cfg, coordinatorLog{parts: b.parts, topic: txn.StateTopic, notCoordinator: txn.ErrNotCoordinator}, markers, ids)
	if err != nil {
		return err
	}
	if err := c.Start(ctx); err != nil {
		return fmt.Errorf("start transaction coordinator: %w", err)
	}
	b.txns = c
	b.srv.SetMarkerAppender(markers)
	return nil
}
