package group

import "fmt"

// On a cluster, a node coordinates the groups of the __consumer_offsets
// partitions it leads. The broker calls these when leadership moves.

// UnloadPartition drops partition's groups because another node leads it now:
// held requests are answered with ErrNotCoordinator, and so are later ones
// until LoadPartition.
func (c *Coordinator) UnloadPartition(partition int32) {
	if partition < 0 || int(partition) >= len(c.shards) {
		return
	}
	s := c.shards[partition]
	now := c.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.groups {
		c.deliver(s, g.Unload(now).Replies)
	}
	s.groups = map[string]*Group{}
	s.pending = map[int64][]pendingOffset{}
	s.loaded = false
	s.disowned = true
}

// LoadPartition (re)loads partition's groups from the log because this node
// leads it now; requests wait with ErrLoadInProgress meanwhile.
func (c *Coordinator) LoadPartition(partition int32) error {
	if partition < 0 || int(partition) >= len(c.shards) {
		return fmt.Errorf("load %s-%d: no such partition", OffsetsTopic, partition)
	}
	c.UnloadPartition(partition)
	s := c.shards[partition]
	s.mu.Lock()
	s.disowned = false
	s.mu.Unlock()
	return c.load(s)
}
