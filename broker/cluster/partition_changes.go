package cluster

import (
	"cmp"
	"fmt"
	"slices"
)

// BrokerFencing fences (or unfences) a broker. Fencing a broker does not move its
// partitions by itself: the controller proposes the leader changes in the same
// decision (ChangePartitions), so the state machine stays a recorder.
type BrokerFencing struct {
	Broker int32 `json:"broker"`
	Fenced bool  `json:"fenced"`
}

// BrokerUnregistration removes a broker. It is refused while a partition still
// names it as a replica.
type BrokerUnregistration struct {
	Broker int32 `json:"broker"`
}

// PartitionChanges sets the placement of some partitions at once.
type PartitionChanges struct {
	Changes []PartitionChange `json:"changes"`
}

// PartitionChange is the complete new state of one partition (State.ID names
// it). The leader epoch may not go back; a new leader must come with a higher
// epoch.
type PartitionChange struct {
	Topic   string    `json:"topic"`
	TopicID UUID      `json:"topic_id"`
	State   Partition `json:"state"`
}

func (s *Snapshot) fenceBroker(c *BrokerFencing) error {
	i := slices.IndexFunc(s.Brokers, func(b Broker) bool { return b.ID == c.Broker })
	if i < 0 {
		return fmt.Errorf("%w: broker %d is not registered", ErrInvalidCommand, c.Broker)
	}
	brokers := slices.Clone(s.Brokers)
	brokers[i].Fenced = c.Fenced
	s.Brokers = brokers
	return nil
}

func (s *Snapshot) unregisterBroker(c *BrokerUnregistration) error {
	i := slices.IndexFunc(s.Brokers, func(b Broker) bool { return b.ID == c.Broker })
	if i < 0 {
		return fmt.Errorf("%w: broker %d is not registered", ErrInvalidCommand, c.Broker)
	}
	for _, t := range s.Topics {
		for _, p := range t.Partitions {
			if slices.Contains(p.Replicas, c.Broker) {
				return fmt.Errorf("%w: broker %d still holds a replica of %s-%d", ErrInvalidReplicaAssignment, c.Broker, t.Name, p.ID)
			}
		}
	}
	s.Brokers = slices.Delete(slices.Clone(s.Brokers), i, i+1)
	return nil
}

func (s *Snapshot) changePartitions(c *PartitionChanges) error {
	if len(c.Changes) == 0 {
		return fmt.Errorf("%w: no partition changes", ErrInvalidCommand)
	}
	changed := map[string]*Topic{}
	for _, ch := range c.Changes {
		t := changed[ch.Topic]
		if t == nil {
			cur, err := s.lookup(ch.Topic, ch.TopicID)
			if err != nil {
				return err
			}
			nt := *cur
			nt.Partitions = clonePartitions(cur.Partitions)
			t = &nt
			changed[ch.Topic] = t
		}
		id := ch.State.ID
		if id < 0 || int(id) >= len(t.Partitions) {
			return fmt.Errorf("%w: %s has no partition %d", ErrUnknownTopic, ch.Topic, id)
		}
		cur := t.Partitions[id]
		next := clonePartitions([]Partition{ch.State})[0]
		if err := s.checkChange(cur, next); err != nil {
			return fmt.Errorf("%s-%d: %w", ch.Topic, id, err)
		}
		t.Partitions[id] = next
	}
	for _, t := range changed {
		s.Topics[t.Name] = t
		s.TopicsByID[t.ID] = t
	}
	return nil
}

// checkChange checks one partition's new state against its current one.
func (s *Snapshot) checkChange(cur, next Partition) error {
	if len(next.Replicas) == 0 {
		return fmt.Errorf("%w: no replicas", ErrInvalidReplicaAssignment)
	}
	for j, r := range next.Replicas {
		if slices.Contains(next.Replicas[:j], r) {
			return fmt.Errorf("%w: broker %d named twice", ErrInvalidReplicaAssignment, r)
		}
		if _, ok := s.Broker(r); !ok {
			return fmt.Errorf("%w: broker %d is not registered", ErrInvalidReplicaAssignment, r)
		}
	}
	if len(next.ISR) == 0 {
		return fmt.Errorf("%w: empty ISR", ErrInvalidCommand)
	}
	for j, r := range next.ISR {
		if !slices.Contains(next.Replicas, r) || slices.Contains(next.ISR[:j], r) {
			return fmt.Errorf("%w: ISR %v is not a set of the replicas %v", ErrInvalidCommand, next.ISR, next.Replicas)
		}
	}
	for _, r := range next.Target {
		if !slices.Contains(next.Replicas, r) {
			return fmt.Errorf("%w: reassignment target %v is not within the replicas %v", ErrInvalidReplicaAssignment, next.Target, next.Replicas)
		}
	}
	if next.Leader != NoLeader && !slices.Contains(next.ISR, next.Leader) {
		return fmt.Errorf("%w: leader %d is not in the ISR %v", ErrInvalidCommand, next.Leader, next.ISR)
	}
	switch {
	case next.LeaderEpoch < cur.LeaderEpoch:
		return fmt.Errorf("%w: leader epoch %d is older than %d", ErrInvalidCommand, next.LeaderEpoch, cur.LeaderEpoch)
	case next.Leader != cur.Leader && next.LeaderEpoch == cur.LeaderEpoch:
		return fmt.Errorf("%w: leader %d -> %d without a new epoch", ErrInvalidCommand, cur.Leader, next.Leader)
	}
	return nil
}

// LiveBroker reports whether id is registered and not fenced.
func (s *Snapshot) LiveBroker(id int32) bool {
	b, ok := s.Broker(id)
	return ok && !b.Fenced
}

// Partition returns a topic's partition.
func (t *Topic) Partition(id int32) (Partition, bool) {
	if id < 0 || int(id) >= len(t.Partitions) {
		return Partition{}, false
	}
	return t.Partitions[id], true
}

// sortedIDs returns ids sorted, without duplicates.
func sortedIDs(ids []int32) []int32 {
	out := slices.Clone(ids)
	slices.SortFunc(out, cmp.Compare[int32])
	return slices.Compact(out)
}
