package replication

import (
	"errors"
	"fmt"

	"github.com/tributary-io/tributary/broker/log"
)

// ProducerState is a partition's producer state (broker/txn.PartitionState):
// idempotence and transactions. The Partition calls Check, the log append and
// Appended under its append lock, so the state and the log never disagree.
type ProducerState interface {
	// Check validates batches before they are appended. A non-nil AppendInfo
	// means they repeat an earlier append: they are not written, and the caller
	// answers with the original offsets. fromClient is false for the broker's own
	// coordinators (markers, transactional offset commits).
	Check(batches []byte, fromClient bool) (*log.AppendInfo, error)
	// Appended records batches the log has just written at info.
	Appended(batches []byte, info log.AppendInfo)
	// FirstUnstableOffset is the first offset of the oldest open transaction.
	FirstUnstableOffset() (int64, bool)
	// Close stops the state; with snapshot it persists it first (a clean close).
	Close(snapshot bool) error
}

// ProducerStateOpener builds the producer state of a partition when its log is
// opened (rebuilding it from the log and its snapshots).
type ProducerStateOpener func(tp log.TopicPartition, l *log.Log) (ProducerState, error)

// ProducerState returns the partition's producer state, or nil when the Manager
// was configured without one.
func (p *Partition) ProducerState() ProducerState { return p.ps() }

// AppendCoordinator appends batches written by the broker itself (transaction
// markers, the group coordinator's transactional offset commits): like Append,
// but control batches are allowed and sequence numbers are not checked.
func (p *Partition) AppendCoordinator(batches []byte) (log.AppendInfo, error) {
	return p.append(batches, false)
}

// closeProducers closes the producer state once no append is running; snapshot
// on a clean shutdown, not when the log is being deleted.
func (p *Partition) closeProducers(snapshot bool) error {
	if p.ps() == nil {
		return nil
	}
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	if err := p.ps().Close(snapshot); err != nil {
		return fmt.Errorf("close producer state of %s: %w", p.tp, err)
	}
	return nil
}

// openProducers opens the producer state of l with the configured opener.
func (m *Manager) openProducers(tp log.TopicPartition, l *log.Log) (ProducerState, error) {
	if m.cfg.ProducerState == nil {
		return nil, nil
	}
	ps, err := m.cfg.ProducerState(tp, l)
	if err != nil {
		return nil, fmt.Errorf("producer state of %s: %w", tp, err)
	}
	return ps, nil
}

// closeAll closes the producer states of every hosted partition with snapshots.
func closeAll(parts map[log.TopicPartition]*Partition) error {
	var errs []error
	for _, p := range parts {
		if err := p.closeProducers(true); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// prodBox lets the producer state be swapped atomically.
type prodBox struct{ ps ProducerState }

// ps is the current producer state, or nil.
func (p *Partition) ps() ProducerState {
	if b := p.prod.Load(); b != nil {
		return b.ps
	}
	return nil
}
