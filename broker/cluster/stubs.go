package cluster

// STUBS: the admin helper replaces this file. Signatures are the contract.

// ValidateTopicName checks a name as Kafka does: 1..249 chars of [a-zA-Z0-9._-],
// not "." or "..". Errors wrap ErrInvalidTopic.
func ValidateTopicName(name string) error { panic("unimplemented") }

// Local is the single-node metadata driver: it applies commands to the state
// machine and persists them under dir, so metadata survives restarts.
type Local struct{}

// OpenLocal loads (or creates) the metadata in dir for node self. The broker
// registers itself with RegisterBroker once its listeners are bound.
func OpenLocal(dir string, self int32, clusterID string) (*Local, error) { panic("unimplemented") }

// Snapshot returns the current immutable view.
func (l *Local) Snapshot() *Snapshot { panic("unimplemented") }

// Subscribe calls fn with the current snapshot, and again after every change, on
// the applying goroutine, in order. fn must not call back into Local.
func (l *Local) Subscribe(fn func(*Snapshot)) { panic("unimplemented") }

// RegisterBroker records this node's advertised address.
func (l *Local) RegisterBroker(b Broker) error { panic("unimplemented") }

// CreateTopic creates a topic with partitions (>=1) and replication factor rf,
// placing replicas on registered brokers; configs are validated against the
// defaults with log.ApplyOverrides. validateOnly checks without creating.
func (l *Local) CreateTopic(name string, partitions int32, rf int16, configs map[string]string, validateOnly bool) (*Topic, error) {
	panic("unimplemented")
}

// DeleteTopic removes a topic.
func (l *Local) DeleteTopic(name string) error { panic("unimplemented") }

// CreatePartitions raises a topic's partition count to total.
func (l *Local) CreatePartitions(name string, total int32, validateOnly bool) error {
	panic("unimplemented")
}

// SetTopicConfigs replaces a topic's config overrides after validating them.
func (l *Local) SetTopicConfigs(name string, configs map[string]string, validateOnly bool) error {
	panic("unimplemented")
}

// Close releases files.
func (l *Local) Close() error { panic("unimplemented") }
