package cluster

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"
)

// Metadata is the metadata state machine. Apply checks a command against the
// current state and, when it is valid, installs a new immutable Snapshot; the
// previous one stays valid for whoever holds it. It does no I/O and reads no
// clock, so replaying the same commands always yields the same snapshots.
//
// Apply and Restore must be called by one goroutine at a time (the driver's);
// Snapshot may be called from any goroutine at any time without locking.
type Metadata struct {
	cur atomic.Pointer[Snapshot]
}

// NewMetadata returns an empty state for a cluster.
func NewMetadata(clusterID string, controllerID int32) *Metadata {
	m := &Metadata{}
	m.cur.Store(&Snapshot{
		ClusterID:    clusterID,
		ControllerID: controllerID,
		Topics:       map[string]*Topic{},
		TopicsByID:   map[UUID]*Topic{},
	})
	return m
}

// Snapshot returns the current state. Never modify it.
func (m *Metadata) Snapshot() *Snapshot { return m.cur.Load() }

// Apply applies cmd, or returns why it cannot be applied and leaves the state as it was.
func (m *Metadata) Apply(cmd Command) error {
	next, err := m.next(cmd)
	if err != nil {
		return err
	}
	m.cur.Store(next)
	return nil
}

// Check reports whether cmd would apply, without applying it (validate-only requests).
func (m *Metadata) Check(cmd Command) error {
	_, err := m.next(cmd)
	return err
}

// Restore replaces the state with s (a raft or on-disk snapshot). s must not be
// modified afterwards.
func (m *Metadata) Restore(s *Snapshot) { m.cur.Store(s) }

// next computes the snapshot after cmd without installing it.
func (m *Metadata) next(cmd Command) (*Snapshot, error) {
	kind, err := cmd.kind()
	if err != nil {
		return nil, err
	}
	cur := m.cur.Load()
	// Copy-on-write: the maps are copied (entries point at immutable topics that
	// are shared), and a changed topic is a new *Topic.
	next := &Snapshot{
		ClusterID:    cur.ClusterID,
		ControllerID: cur.ControllerID,
		Brokers:      cur.Brokers,
		Topics:       maps.Clone(cur.Topics),
		TopicsByID:   maps.Clone(cur.TopicsByID),
		Version:      cur.Version + 1,
		// NextProducerID only moves with AllocateProducerIDs.
		NextProducerID: cur.NextProducerID,
		// Replaced, never modified, by the security commands.
		ScramUsers: cur.ScramUsers,
		ACLs:       cur.ACLs,
	}
	if next.Topics == nil {
		next.Topics = map[string]*Topic{}
	}
	if next.TopicsByID == nil {
		next.TopicsByID = map[UUID]*Topic{}
	}
	switch {
	case cmd.RegisterBroker != nil:
		err = next.registerBroker(cmd.RegisterBroker.Broker)
	case cmd.CreateTopic != nil:
		err = next.createTopic(cmd.CreateTopic, false)
	case cmd.DeleteTopic != nil:
		err = next.deleteTopic(cmd.DeleteTopic)
	case cmd.CreatePartitions != nil:
		err = next.createPartitions(cmd.CreatePartitions)
	case cmd.SetTopicConfigs != nil:
		err = next.setTopicConfigs(cmd.SetTopicConfigs)
	case cmd.AllocateProducerIDs != nil:
		err = next.allocateProducerIDs(cmd.AllocateProducerIDs)
	case cmd.FenceBroker != nil:
		err = next.fenceBroker(cmd.FenceBroker)
	case cmd.ChangePartitions != nil:
		err = next.changePartitions(cmd.ChangePartitions)
	case cmd.UnregisterBroker != nil:
		err = next.unregisterBroker(cmd.UnregisterBroker)
	default:
		err = next.applySecurity(cmd)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	return next, nil
}

func (s *Snapshot) registerBroker(b Broker) error {
	if b.ID < 0 {
		return fmt.Errorf("%w: broker id %d is negative", ErrInvalidCommand, b.ID)
	}
	if b.Host == "" || b.Port < 1 || b.Port > 65535 {
		return fmt.Errorf("%w: broker %d: address %q:%d is not usable", ErrInvalidCommand, b.ID, b.Host, b.Port)
	}
	if err := validateEndpoints(b); err != nil {
		return err
	}
	b.Listeners = slices.Clone(b.Listeners) // the snapshot must not share the caller's slice
	brokers := slices.Clone(s.Brokers)
	i, found := slices.BinarySearchFunc(brokers, b.ID, func(x Broker, id int32) int { return cmp.Compare(x.ID, id) })
	if found {
		brokers[i] = b
	} else {
		brokers = slices.Insert(brokers, i, b)
	}
	s.Brokers = brokers
	return nil
}

// createTopic adds a topic. restore accepts partitions as a running cluster may
// hold them (offline, without a leader); a new topic always has leaders.
func (s *Snapshot) createTopic(c *TopicCreation, restore bool) error {
	if err := ValidateTopicName(c.Name); err != nil {
		return err
	}
	if _, ok := s.Topics[c.Name]; ok {
		return fmt.Errorf("%w: %s", ErrTopicExists, c.Name)
	}
	key := collisionKey(c.Name)
	for name := range s.Topics {
		if collisionKey(name) == key {
			return fmt.Errorf("%w: %q collides with existing topic %q ('.' and '_' are the same in metric names)",
				ErrInvalidTopic, c.Name, name)
		}
	}
	if c.ID.IsZero() {
		return fmt.Errorf("%w: topic %s has no id", ErrInvalidCommand, c.Name)
	}
	if other, ok := s.TopicsByID[c.ID]; ok {
		return fmt.Errorf("%w: topic id %s of %s is already used by %s", ErrInvalidCommand, c.ID, c.Name, other.Name)
	}
	if len(c.Partitions) == 0 {
		return fmt.Errorf("%w: topic %s has no partitions", ErrInvalidPartitions, c.Name)
	}
	if err := s.checkPartitions(c.Partitions, 0, len(c.Partitions[0].Replicas), restore); err != nil {
		return fmt.Errorf("topic %s: %w", c.Name, err)
	}
	t := &Topic{
		Name:       c.Name,
		ID:         c.ID,
		Partitions: clonePartitions(c.Partitions),
		Configs:    cloneConfigs(c.Configs),
		Internal:   IsInternalTopic(c.Name),
	}
	s.Topics[t.Name] = t
	s.TopicsByID[t.ID] = t
	return nil
}

// lookup finds the topic a command names; a non-zero id must match.
func (s *Snapshot) lookup(name string, id UUID) (*Topic, error) {
	t, ok := s.Topics[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownTopic, name)
	}
	if !id.IsZero() && id != t.ID {
		return nil, fmt.Errorf("%w: %s has id %s, not %s", ErrUnknownTopic, name, t.ID, id)
	}
	return t, nil
}

func (s *Snapshot) deleteTopic(c *TopicDeletion) error {
	t, err := s.lookup(c.Name, c.ID)
	if err != nil {
		return err
	}
	delete(s.Topics, t.Name)
	delete(s.TopicsByID, t.ID)
	return nil
}

func (s *Snapshot) createPartitions(c *PartitionCreation) error {
	t, err := s.lookup(c.Name, c.ID)
	if err != nil {
		return err
	}
	if len(c.Partitions) == 0 {
		return fmt.Errorf("%w: topic %s: no partitions to add", ErrInvalidPartitions, c.Name)
	}
	rf := len(t.Partitions[0].Replicas)
	if err := s.checkPartitions(c.Partitions, int32(len(t.Partitions)), rf, false); err != nil {
		return fmt.Errorf("topic %s: %w", c.Name, err)
	}
	nt := *t
	nt.Partitions = append(slices.Clip(t.Partitions), clonePartitions(c.Partitions)...)
	s.Topics[nt.Name] = &nt
	s.TopicsByID[nt.ID] = &nt
	return nil
}

func (s *Snapshot) setTopicConfigs(c *TopicConfigChange) error {
	t, err := s.lookup(c.Name, c.ID)
	if err != nil {
		return err
	}
	nt := *t
	nt.Configs = cloneConfigs(c.Configs)
	s.Topics[nt.Name] = &nt
	s.TopicsByID[nt.ID] = &nt
	return nil
}

// checkPartitions checks partitions numbered from first: consecutive ids, rf
// distinct registered replicas each, a leader among them, and an ISR that is a
// subset of the replicas holding the leader. Topic configs are deliberately not
// checked here: they are validated by the proposer, so that a later, stricter
// validation rule cannot make an old command log unreplayable.
//
// With restore, replica lists may differ in length (a reassignment in progress
// when the snapshot was taken) and a partition may have no leader.
func (s *Snapshot) checkPartitions(ps []Partition, first int32, rf int, restore bool) error {
	if rf < 1 {
		return fmt.Errorf("%w: partition %d has no replicas", ErrInvalidReplicationFactor, first)
	}
	for i, p := range ps {
		if want := first + int32(i); p.ID != want {
			return fmt.Errorf("%w: partition at %d has id %d, want %d", ErrInvalidCommand, i, p.ID, want)
		}
		if restore {
			if err := s.checkChange(Partition{Leader: p.Leader, LeaderEpoch: p.LeaderEpoch}, p); err != nil {
				return fmt.Errorf("partition %d: %w", p.ID, err)
			}
			continue
		}
		if len(p.Replicas) != rf {
			return fmt.Errorf("%w: partition %d has %d replicas, the topic has %d", ErrInvalidReplicaAssignment, p.ID, len(p.Replicas), rf)
		}
		for j, r := range p.Replicas {
			if slices.Contains(p.Replicas[:j], r) {
				return fmt.Errorf("%w: partition %d names broker %d twice", ErrInvalidReplicaAssignment, p.ID, r)
			}
			if _, ok := s.Broker(r); !ok {
				return fmt.Errorf("%w: partition %d names broker %d, which is not registered", ErrInvalidReplicaAssignment, p.ID, r)
			}
		}
		if !slices.Contains(p.Replicas, p.Leader) || !slices.Contains(p.ISR, p.Leader) {
			return fmt.Errorf("%w: partition %d: leader %d must be a replica in the ISR", ErrInvalidCommand, p.ID, p.Leader)
		}
		for j, r := range p.ISR {
			if !slices.Contains(p.Replicas, r) || slices.Contains(p.ISR[:j], r) {
				return fmt.Errorf("%w: partition %d: ISR %v is not a set of its replicas %v", ErrInvalidCommand, p.ID, p.ISR, p.Replicas)
			}
		}
		if p.LeaderEpoch < 0 {
			return fmt.Errorf("%w: partition %d: negative leader epoch %d", ErrInvalidCommand, p.ID, p.LeaderEpoch)
		}
	}
	return nil
}
