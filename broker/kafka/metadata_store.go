package kafka

import (
	"github.com/tributary-io/tributary/broker/auth"
	"github.com/tributary-io/tributary/broker/cluster"
)

// MetadataStore is what the wire server needs from the cluster metadata: the
// local snapshot to answer from, and the changes admin requests make. Both
// *cluster.Local (a single node) and *cluster.Raft (a cluster, where changes
// run on the controller) implement it.
type MetadataStore interface {
	Snapshot() *cluster.Snapshot
	CreateTopic(name string, partitions int32, rf int16, configs map[string]string, validateOnly bool) (*cluster.Topic, error)
	Create(spec cluster.TopicSpec, validateOnly bool) (*cluster.Topic, error)
	DeleteTopic(name string) error
	AddPartitions(name string, total int32, assignment [][]int32, validateOnly bool) error
	SetTopicConfigs(name string, configs map[string]string, validateOnly bool) error
	AllocateProducerIDs(broker int32, count int64) (int64, error)
	UpsertScramCredential(user string, c auth.Credential) error
	DeleteScramCredential(user string, m auth.ScramMechanism) error
	CreateACLs(acls []auth.ACL) error
	DeleteACLs(filters []auth.ACLFilter) ([][]auth.ACL, error)
}

// ReplicaOps are the cluster operations only a replicated store offers
// (ElectLeaders, partition reassignment); the server finds them by type
// assertion and answers without them on a single node.
type ReplicaOps interface {
	ElectPreferred(refs []cluster.PartitionRef) ([]string, error)
	Reassign(rs []cluster.Reassignment) ([]string, error)
}
