package cluster

import (
	"fmt"
	"maps"
	"slices"
)

// Command is one change to the metadata. Exactly one field is set. A command
// carries every decision (topic ids, replica placement), so applying the same
// commands in the same order always yields the same state: the proposer decides,
// the state machine only checks and records.
type Command struct {
	RegisterBroker   *BrokerRegistration `json:"register_broker,omitempty"`
	CreateTopic      *TopicCreation      `json:"create_topic,omitempty"`
	DeleteTopic      *TopicDeletion      `json:"delete_topic,omitempty"`
	CreatePartitions *PartitionCreation  `json:"create_partitions,omitempty"`
	SetTopicConfigs  *TopicConfigChange  `json:"set_topic_configs,omitempty"`
	// AllocateProducerIDs reserves a block of producer ids (broker/txn).
	AllocateProducerIDs *ProducerIDAllocation `json:"allocate_producer_ids,omitempty"`
	// FenceBroker fences or unfences a broker (the controller's liveness decision).
	FenceBroker *BrokerFencing `json:"fence_broker,omitempty"`
	// ChangePartitions sets leaders, leader epochs, ISRs and replica lists
	// (elections, ISR changes, reassignments).
	ChangePartitions *PartitionChanges `json:"change_partitions,omitempty"`
	// UnregisterBroker removes a broker that no partition names any more.
	UnregisterBroker *BrokerUnregistration `json:"unregister_broker,omitempty"`
	// Security commands (security.go): SCRAM credentials and ACLs.
	UpsertScramCredential *ScramCredentialUpsert   `json:"upsert_scram_credential,omitempty"`
	DeleteScramCredential *ScramCredentialDeletion `json:"delete_scram_credential,omitempty"`
	CreateACLs            *ACLCreation             `json:"create_acls,omitempty"`
	DeleteACLs            *ACLDeletion             `json:"delete_acls,omitempty"`
}

// BrokerRegistration adds a broker or updates its advertised address.
type BrokerRegistration struct {
	Broker Broker `json:"broker"`
}

// TopicCreation creates a topic with its id and its full partition placement.
type TopicCreation struct {
	Name       string            `json:"name"`
	ID         UUID              `json:"id"`
	Partitions []Partition       `json:"partitions"`
	Configs    map[string]string `json:"configs,omitempty"`
}

// TopicDeletion removes a topic. ID, when set, must match the topic's, so a
// deletion proposed against an older topic of the same name does nothing wrong.
type TopicDeletion struct {
	Name string `json:"name"`
	ID   UUID   `json:"id"`
}

// PartitionCreation appends partitions to a topic; their ids continue the
// existing ones.
type PartitionCreation struct {
	Name       string      `json:"name"`
	ID         UUID        `json:"id"`
	Partitions []Partition `json:"partitions"`
}

// TopicConfigChange replaces a topic's config overrides.
type TopicConfigChange struct {
	Name    string            `json:"name"`
	ID      UUID              `json:"id"`
	Configs map[string]string `json:"configs,omitempty"`
}

// kind names the command for errors, and checks that exactly one field is set.
func (c Command) kind() (string, error) {
	var kinds []string
	if c.RegisterBroker != nil {
		kinds = append(kinds, "register_broker")
	}
	if c.CreateTopic != nil {
		kinds = append(kinds, "create_topic")
	}
	if c.DeleteTopic != nil {
		kinds = append(kinds, "delete_topic")
	}
	if c.CreatePartitions != nil {
		kinds = append(kinds, "create_partitions")
	}
	if c.SetTopicConfigs != nil {
		kinds = append(kinds, "set_topic_configs")
	}
	if c.AllocateProducerIDs != nil {
		kinds = append(kinds, "allocate_producer_ids")
	}
	kinds = append(kinds, c.securityKinds()...)
	if c.FenceBroker != nil {
		kinds = append(kinds, "fence_broker")
	}
	if c.ChangePartitions != nil {
		kinds = append(kinds, "change_partitions")
	}
	if c.UnregisterBroker != nil {
		kinds = append(kinds, "unregister_broker")
	}
	if len(kinds) != 1 {
		return "", fmt.Errorf("%w: a command sets exactly one kind, this one sets %d %v", ErrInvalidCommand, len(kinds), kinds)
	}
	return kinds[0], nil
}

// clonePartitions deep-copies partitions so a snapshot never shares slices with
// a caller's command.
func clonePartitions(ps []Partition) []Partition {
	out := make([]Partition, len(ps))
	for i, p := range ps {
		p.Replicas = slices.Clone(p.Replicas)
		p.ISR = slices.Clone(p.ISR)
		p.Target = slices.Clone(p.Target)
		out[i] = p
	}
	return out
}

// cloneConfigs copies overrides; the result is never nil so readers can index it.
func cloneConfigs(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	maps.Copy(out, m)
	return out
}
