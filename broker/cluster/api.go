package cluster

import (
	"errors"

	"github.com/tributary-io/tributary/broker/auth"
)

// Errors, classified with errors.Is; broker/kafka maps them to Kafka error codes.
var (
	ErrTopicExists              = errors.New("cluster: topic already exists")             // TOPIC_ALREADY_EXISTS
	ErrUnknownTopic             = errors.New("cluster: unknown topic")                    // UNKNOWN_TOPIC_OR_PARTITION
	ErrInvalidTopic             = errors.New("cluster: invalid topic name")               // INVALID_TOPIC_EXCEPTION
	ErrInvalidPartitions        = errors.New("cluster: invalid partition count")          // INVALID_PARTITIONS
	ErrInvalidReplicationFactor = errors.New("cluster: invalid replication factor")       // INVALID_REPLICATION_FACTOR
	ErrInvalidConfig            = errors.New("cluster: invalid topic config")             // INVALID_CONFIG
	ErrReservedTopic            = errors.New("cluster: internal topic cannot be changed") // TOPIC_AUTHORIZATION_FAILED / INVALID_REQUEST
	// ErrInvalidReplicaAssignment: a manual assignment names an unknown broker, repeats
	// one, or mixes replication factors (INVALID_REPLICA_ASSIGNMENT).
	ErrInvalidReplicaAssignment = errors.New("cluster: invalid replica assignment")
	// ErrInvalidCommand: a command the state machine cannot apply because it is
	// malformed (a proposer bug or a damaged command log), not because of the state.
	ErrInvalidCommand = errors.New("cluster: invalid command")
	// ErrClosed: the Local driver was closed, or a failed write left it unusable.
	ErrClosed = errors.New("cluster: metadata store closed")
)

// UUID is a Kafka topic id.
type UUID [16]byte

// Broker is one node as clients see it.
type Broker struct {
	ID   int32  `json:"id"`
	Host string `json:"host"`
	Port int32  `json:"port"`
	Rack string `json:"rack,omitempty"` // empty when none
	// Fenced is set by the controller when the broker missed its heartbeats (or
	// shut down): it leads nothing and is left out of ISRs until it heartbeats again.
	Fenced bool `json:"fenced,omitempty"`
	// RaftAddr is the broker's raft address (host:port); empty on a single node.
	RaftAddr string `json:"raft_addr,omitempty"`
	// Listeners are every advertised listener of the broker by name and
	// security protocol (endpoints.go), so peers can dial the inter-broker one.
	// Host and Port stay the first listener's: Metadata answers from them.
	// Empty in records written before brokers registered their listeners.
	Listeners []Endpoint `json:"listeners,omitempty"`
}

// NoLeader is Partition.Leader while no replica can lead (offline partition).
const NoLeader int32 = -1

// Partition is one partition's placement.
type Partition struct {
	ID          int32   `json:"id"`
	Leader      int32   `json:"leader"`
	LeaderEpoch int32   `json:"leader_epoch"`
	Replicas    []int32 `json:"replicas"`
	ISR         []int32 `json:"isr"`
	// Target is the replica list of a reassignment in progress: Replicas holds
	// the old and the new replicas until every target replica is in the ISR,
	// then the controller switches Replicas to Target and clears it.
	Target []int32 `json:"target,omitempty"`
}

// Topic is a topic's metadata. Configs holds only the overrides; the effective
// log config is the broker defaults with these applied (log.ApplyOverrides).
type Topic struct {
	Name       string
	ID         UUID
	Partitions []Partition // index == partition id
	Configs    map[string]string
	Internal   bool // names starting with "__"
}

// Snapshot is an immutable view of all metadata. Never modify one.
type Snapshot struct {
	ClusterID    string
	ControllerID int32
	Brokers      []Broker
	Topics       map[string]*Topic
	// TopicsByID indexes Topics by id.
	TopicsByID map[UUID]*Topic
	// Version increases with every applied command.
	Version uint64
	// NextProducerID is the first producer id no block has reserved yet
	// (AllocateProducerIDs); ids below it were handed out and never repeat.
	NextProducerID int64
	// ScramUsers holds the SCRAM credentials by user and mechanism
	// (security.go). Never modified in place; nil when there are none.
	ScramUsers map[string]map[auth.ScramMechanism]auth.Credential
	// ACLs are the access control bindings (security.go); nil when none.
	ACLs *auth.ACLSet
}
