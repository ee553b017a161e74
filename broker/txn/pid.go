package txn

import (
	"fmt"
	"sync"
)

// BlockAllocator durably reserves blocks of producer ids, so an id is never
// handed out twice, across restarts and (later) across brokers. *cluster.Local
// implements it with a metadata command.
type BlockAllocator interface {
	AllocateProducerIDs(broker int32, count int64) (first int64, err error)
}

// DefaultProducerIDBlock is how many ids one reservation takes, as in Kafka.
const DefaultProducerIDBlock = 1000

// IDManager hands out producer ids from blocks reserved through a
// BlockAllocator. Ids left in a block when the broker stops are never used.
// Safe for concurrent use.
type IDManager struct {
	alloc  BlockAllocator
	broker int32
	block  int64

	mu        sync.Mutex
	next, end int64 // the current block is [next, end)
}

// NewIDManager returns a manager reserving blocks of blockSize ids (<= 0 means
// DefaultProducerIDBlock) for broker.
func NewIDManager(alloc BlockAllocator, broker int32, blockSize int64) *IDManager {
	if blockSize <= 0 {
		blockSize = DefaultProducerIDBlock
	}
	return &IDManager{alloc: alloc, broker: broker, block: blockSize}
}

// Next returns an id no one has had before.
func (m *IDManager) Next() (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.next >= m.end {
		first, err := m.alloc.AllocateProducerIDs(m.broker, m.block)
		if err != nil {
			return -1, fmt.Errorf("reserve producer ids: %w: %w", ErrCoordinatorNotAvailable, err)
		}
		m.next, m.end = first, first+m.block
	}
	id := m.next
	m.next++
	return id, nil
}
