package broker

import (
	"errors"
	"fmt"

	"github.com/tributary-io/tributary/broker/cluster"
	"github.com/tributary-io/tributary/broker/record"
	"github.com/tributary-io/tributary/broker/replication"
)

// coordinatorLog adapts the local replicas of an internal topic to the log a
// coordinator keeps its state in: group.Log over __consumer_offsets and txn.Log
// over __transaction_state.
type coordinatorLog struct {
	parts *replication.Manager
	topic string
	// notCoordinator is the coordinator's error for a partition this node does
	// not hold, so clients look the coordinator up again.
	notCoordinator error
}

// replayChunk is how many bytes Replay reads at a time.
const replayChunk = 1 << 20

func (l coordinatorLog) partition(p int32) (*replication.Partition, error) {
	part, err := l.parts.Partition(l.topic, p)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", l.notCoordinator, err)
	}
	return part, nil
}

// Append writes one batch and returns once the in-sync replicas have it (at
// once on a single node). The coordinators' batches are the broker's own:
// transactional offset commits carry the producer's id but no sequence, and
// markers are control batches.
func (l coordinatorLog) Append(p int32, batch []byte) error {
	part, err := l.partition(p)
	if err != nil {
		return err
	}
	return appendReplicated(part, batch, l.notCoordinator)
}

// Replay reads the partition from its start to its high watermark.
func (l coordinatorLog) Replay(p int32, fn func(batch []byte) error) error {
	if _, err := l.parts.Partition(l.topic, p); errors.Is(err, cluster.ErrUnknownTopic) {
		return nil // not a replica here (a cluster): nothing to load
	}
	part, err := l.partition(p)
	if err != nil {
		return err
	}
	return replayPartition(part, fn)
}

// LeaderEpoch is the partition's leader epoch, written into markers as the
// coordinator epoch; -1 when this node does not hold the partition.
func (l coordinatorLog) LeaderEpoch(p int32) int32 {
	part, err := l.partition(p)
	if err != nil {
		return -1
	}
	return part.LeaderEpoch()
}

// replayPartition calls fn with every batch of part from its start to its high
// watermark.
func replayPartition(part *replication.Partition, fn func(batch []byte) error) error {
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
				return fmt.Errorf("replay %s at %d: %w", part.TopicPartition(), off, err)
			}
			if err := fn(batch); err != nil {
				return err
			}
		}
		off = next
	}
	return nil
}
