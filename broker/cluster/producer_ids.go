package cluster

import (
	"fmt"
	"math"
)

// ProducerIDAllocation reserves the producer ids [First, First+Count) for
// BrokerID. First must be the state's NextProducerID, so a block proposed against
// stale state is refused instead of handing out ids twice.
type ProducerIDAllocation struct {
	BrokerID int32 `json:"broker_id"`
	First    int64 `json:"first"`
	Count    int64 `json:"count"`
}

// maxProducerIDBlock bounds one reservation; Kafka reserves 1000 at a time.
const maxProducerIDBlock = 1 << 20

func (s *Snapshot) allocateProducerIDs(c *ProducerIDAllocation) error {
	if c.Count < 1 || c.Count > maxProducerIDBlock {
		return fmt.Errorf("%w: producer id block of %d ids", ErrInvalidCommand, c.Count)
	}
	if c.First != s.NextProducerID {
		return fmt.Errorf("%w: producer id block starts at %d, the next free id is %d", ErrInvalidCommand, c.First, s.NextProducerID)
	}
	if c.First > math.MaxInt64-c.Count {
		return fmt.Errorf("%w: producer ids exhausted at %d", ErrInvalidCommand, c.First)
	}
	s.NextProducerID = c.First + c.Count
	return nil
}

// AllocateProducerIDs durably reserves count producer ids for broker and returns
// the first. The reservation is a metadata command, so ids handed out before a
// restart are never handed out again (broker/txn asks for blocks of 1000).
func (l *Local) AllocateProducerIDs(broker int32, count int64) (int64, error) {
	return allocateProducerIDs(l, broker, count)
}

func allocateProducerIDs(l proposer, broker int32, count int64) (int64, error) {
	l.lock()
	defer l.unlock()
	first := l.current().NextProducerID
	cmd := Command{AllocateProducerIDs: &ProducerIDAllocation{BrokerID: broker, First: first, Count: count}}
	if _, err := l.propose(cmd, false); err != nil {
		return 0, fmt.Errorf("allocate %d producer ids: %w", count, err)
	}
	return first, nil
}
