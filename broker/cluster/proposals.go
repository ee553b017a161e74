package cluster

import (
	"fmt"
	"io"
	"slices"
)

// MaxPartitionsPerRequest bounds the partitions one create may add, so a single
// request cannot make the broker open millions of logs (Kafka bounds records per
// controller operation for the same reason).
const MaxPartitionsPerRequest = 10000

// TopicSpec describes a topic to create.
type TopicSpec struct {
	Name string
	// Partitions and ReplicationFactor size the topic when Assignment is empty.
	Partitions        int32
	ReplicationFactor int16
	// Assignment optionally places replicas by hand: Assignment[p] lists the
	// brokers of partition p, the first being the preferred leader.
	Assignment [][]int32
	// Configs are the topic's config overrides.
	Configs map[string]string
}

// proposer is what the decisions below need from a driver: the current state,
// and a way to make a command durable and applied (or only checked). Its lock
// serialises decisions, so a decision never reads a state that another one is
// about to change. Local and the raft controller implement it.
type proposer interface {
	lock()
	unlock()
	current() *Snapshot
	propose(cmd Command, validateOnly bool) (*Snapshot, error)
	random() io.Reader
}

func (l *Local) lock()              { l.mu.Lock() }
func (l *Local) unlock()            { l.mu.Unlock() }
func (l *Local) current() *Snapshot { return l.meta.Snapshot() }
func (l *Local) random() io.Reader  { return l.opts.random }

// RegisterBroker records this node's advertised address. Registering the same
// address again writes nothing.
func (l *Local) RegisterBroker(b Broker) error { return registerBroker(l, b) }

func registerBroker(l proposer, b Broker) error {
	l.lock()
	defer l.unlock()
	if cur, ok := l.current().Broker(b.ID); ok && cur.Equal(b) {
		return nil
	}
	if _, err := l.propose(Command{RegisterBroker: &BrokerRegistration{Broker: b}}, false); err != nil {
		return fmt.Errorf("register broker %d: %w", b.ID, err)
	}
	return nil
}

// CreateTopic creates a topic with partitions (>=1) and replication factor rf,
// placing replicas on registered brokers; configs are validated against the
// defaults with log.ApplyOverrides. validateOnly checks without creating.
func (l *Local) CreateTopic(name string, partitions int32, rf int16, configs map[string]string, validateOnly bool) (*Topic, error) {
	return l.Create(TopicSpec{Name: name, Partitions: partitions, ReplicationFactor: rf, Configs: configs}, validateOnly)
}

// Create creates the topic spec describes, with a new random id. With
// validateOnly it checks everything and returns the topic it would create,
// without creating it.
func (l *Local) Create(spec TopicSpec, validateOnly bool) (*Topic, error) {
	return createTopic(l, spec, validateOnly)
}

func createTopic(l proposer, spec TopicSpec, validateOnly bool) (*Topic, error) {
	if err := ValidateTopicName(spec.Name); err != nil {
		return nil, err
	}
	if err := ValidateTopicConfigs(spec.Configs); err != nil {
		return nil, fmt.Errorf("create topic %s: %w", spec.Name, err)
	}
	l.lock()
	defer l.unlock()
	snap := l.current()
	if _, ok := snap.Topics[spec.Name]; ok {
		return nil, fmt.Errorf("%w: %s", ErrTopicExists, spec.Name)
	}
	var parts []Partition
	var err error
	if len(spec.Assignment) > 0 {
		parts, err = assignedPartitions(0, spec.Assignment)
	} else {
		parts, err = placePartitions(snap, 0, spec.Partitions, int(spec.ReplicationFactor))
	}
	if err != nil {
		return nil, fmt.Errorf("create topic %s: %w", spec.Name, err)
	}
	id, err := newTopicID(l.random())
	for err == nil && snap.TopicsByID[id] != nil {
		id, err = newTopicID(l.random())
	}
	if err != nil {
		return nil, fmt.Errorf("create topic %s: %w", spec.Name, err)
	}
	cmd := Command{CreateTopic: &TopicCreation{Name: spec.Name, ID: id, Partitions: parts, Configs: spec.Configs}}
	next, err := l.propose(cmd, validateOnly)
	if err != nil {
		return nil, fmt.Errorf("create topic %s: %w", spec.Name, err)
	}
	return next.Topics[spec.Name], nil
}

// DeleteTopic removes a topic. Internal topics ("__" names) are refused.
func (l *Local) DeleteTopic(name string) error { return deleteTopic(l, name) }

func deleteTopic(l proposer, name string) error {
	if IsInternalTopic(name) {
		return fmt.Errorf("%w: %s", ErrReservedTopic, name)
	}
	l.lock()
	defer l.unlock()
	if _, err := l.propose(Command{DeleteTopic: &TopicDeletion{Name: name}}, false); err != nil {
		return fmt.Errorf("delete topic %s: %w", name, err)
	}
	return nil
}

// CreatePartitions raises a topic's partition count to total.
func (l *Local) CreatePartitions(name string, total int32, validateOnly bool) error {
	return l.AddPartitions(name, total, nil, validateOnly)
}

// AddPartitions raises a topic's partition count to total. assignment, when not
// empty, places the new partitions by hand (one replica list per new partition);
// otherwise they are placed round-robin with the topic's replication factor.
// Internal topics are refused: their partition count picks coordinators.
func (l *Local) AddPartitions(name string, total int32, assignment [][]int32, validateOnly bool) error {
	return addPartitions(l, name, total, assignment, validateOnly)
}

func addPartitions(l proposer, name string, total int32, assignment [][]int32, validateOnly bool) error {
	if IsInternalTopic(name) {
		return fmt.Errorf("%w: %s", ErrReservedTopic, name)
	}
	l.lock()
	defer l.unlock()
	snap := l.current()
	t, ok := snap.Topics[name]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownTopic, name)
	}
	have := int32(len(t.Partitions))
	switch {
	case total < have:
		return fmt.Errorf("%w: topic %s has %d partitions; the count can only grow, not to %d", ErrInvalidPartitions, name, have, total)
	case total == have:
		return fmt.Errorf("%w: topic %s already has %d partitions", ErrInvalidPartitions, name, have)
	case assignment != nil && int32(len(assignment)) != total-have:
		return fmt.Errorf("%w: %d replica lists for %d new partitions", ErrInvalidReplicaAssignment, len(assignment), total-have)
	}
	var parts []Partition
	var err error
	if len(assignment) > 0 {
		parts, err = assignedPartitions(have, assignment)
	} else {
		parts, err = placePartitions(snap, have, total-have, len(t.Partitions[0].Replicas))
	}
	if err != nil {
		return fmt.Errorf("create partitions of %s: %w", name, err)
	}
	cmd := Command{CreatePartitions: &PartitionCreation{Name: name, ID: t.ID, Partitions: parts}}
	if _, err := l.propose(cmd, validateOnly); err != nil {
		return fmt.Errorf("create partitions of %s: %w", name, err)
	}
	return nil
}

// SetTopicConfigs replaces a topic's config overrides after validating them.
func (l *Local) SetTopicConfigs(name string, configs map[string]string, validateOnly bool) error {
	return setTopicConfigs(l, name, configs, validateOnly)
}

func setTopicConfigs(l proposer, name string, configs map[string]string, validateOnly bool) error {
	l.lock()
	defer l.unlock()
	// An unknown topic is reported before bad configs, as Kafka does.
	if _, ok := l.current().Topics[name]; !ok {
		return fmt.Errorf("%w: %s", ErrUnknownTopic, name)
	}
	if err := ValidateTopicConfigs(configs); err != nil {
		return fmt.Errorf("set configs of %s: %w", name, err)
	}
	if _, err := l.propose(Command{SetTopicConfigs: &TopicConfigChange{Name: name, Configs: configs}}, validateOnly); err != nil {
		return fmt.Errorf("set configs of %s: %w", name, err)
	}
	return nil
}

// placePartitions places count partitions numbered from first round-robin over the
// registered brokers: partition p gets rf consecutive brokers starting at
// (start+p) mod n. start is the number of partitions that exist already, so
// leaders spread across topics as well as within one.
func placePartitions(snap *Snapshot, first, count int32, rf int) ([]Partition, error) {
	n := len(snap.Brokers)
	switch {
	case count < 1:
		return nil, fmt.Errorf("%w: %d partitions requested; at least 1 is needed", ErrInvalidPartitions, count)
	case count > MaxPartitionsPerRequest:
		return nil, fmt.Errorf("%w: %d partitions requested; at most %d per request", ErrInvalidPartitions, count, MaxPartitionsPerRequest)
	case rf < 1:
		return nil, fmt.Errorf("%w: replication factor %d; at least 1 is needed", ErrInvalidReplicationFactor, rf)
	case rf > n:
		return nil, fmt.Errorf("%w: replication factor %d is larger than the %d registered broker(s)", ErrInvalidReplicationFactor, rf, n)
	}
	start := 0
	for _, t := range snap.Topics {
		start += len(t.Partitions)
	}
	parts := make([]Partition, count)
	for i := range parts {
		replicas := make([]int32, rf)
		for j := range replicas {
			replicas[j] = snap.Brokers[(start+i+j)%n].ID
		}
		parts[i] = Partition{ID: first + int32(i), Leader: replicas[0], Replicas: replicas, ISR: slices.Clone(replicas)}
	}
	return parts, nil
}

// assignedPartitions turns a manual assignment into partitions numbered from
// first; the state machine checks that the brokers exist and the lists agree.
func assignedPartitions(first int32, assignment [][]int32) ([]Partition, error) {
	if len(assignment) > MaxPartitionsPerRequest {
		return nil, fmt.Errorf("%w: %d partitions requested; at most %d per request", ErrInvalidPartitions, len(assignment), MaxPartitionsPerRequest)
	}
	parts := make([]Partition, len(assignment))
	for i, replicas := range assignment {
		if len(replicas) == 0 {
			return nil, fmt.Errorf("%w: partition %d has no replicas", ErrInvalidReplicaAssignment, first+int32(i))
		}
		parts[i] = Partition{ID: first + int32(i), Leader: replicas[0], Replicas: slices.Clone(replicas), ISR: slices.Clone(replicas)}
	}
	return parts, nil
}
