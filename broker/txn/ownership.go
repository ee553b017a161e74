package txn

import "fmt"

// On a cluster, a node coordinates the transactional ids of the
// __transaction_state partitions it leads. The broker calls these when
// leadership moves.

// UnloadPartition drops partition's transactions because another node leads it
// now: requests are answered with ErrNotCoordinator until LoadPartition.
func (c *Coordinator) UnloadPartition(partition int32) {
	if partition < 0 || int(partition) >= len(c.shards) {
		return
	}
	s := c.shards[partition]
	s.mu.Lock()
	defer s.mu.Unlock()
	s.txns = map[string]Txn{}
	s.loaded = false
	s.disowned = true
}

// LoadPartition (re)loads partition's transactions from the log because this
// node leads it now, and finishes the ones that were deciding (their markers
// may not all have been written by the previous leader).
func (c *Coordinator) LoadPartition(partition int32) error {
	if partition < 0 || int(partition) >= len(c.shards) {
		return fmt.Errorf("load %s-%d: no such partition", StateTopic, partition)
	}
	c.UnloadPartition(partition)
	s := c.shards[partition]
	s.mu.Lock()
	s.disowned = false
	s.mu.Unlock()
	if err := c.load(s); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c.finishPrepared(s, c.cfg.Now())
	return nil
}
