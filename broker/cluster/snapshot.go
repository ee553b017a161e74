package cluster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"sort"

	"github.com/tributary-io/tributary/broker/auth"
)

// Topic returns the named topic.
func (s *Snapshot) Topic(name string) (*Topic, bool) {
	t, ok := s.Topics[name]
	return t, ok
}

// Broker returns the registered broker with id.
func (s *Snapshot) Broker(id int32) (Broker, bool) {
	for _, b := range s.Brokers {
		if b.ID == id {
			return b, true
		}
	}
	return Broker{}, false
}

// TopicNames lists the topics sorted by name.
func (s *Snapshot) TopicNames() []string {
	names := make([]string, 0, len(s.Topics))
	for n := range s.Topics {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// snapshotFormat is the version of the JSON layout written by MarshalSnapshot.
const snapshotFormat = 1

// snapshotJSON is the stored form: topics as a sorted list (the by-id index is
// rebuilt on load), so the same state always marshals to the same bytes.
type snapshotJSON struct {
	Format       int         `json:"format"`
	ClusterID    string      `json:"cluster_id"`
	ControllerID int32       `json:"controller_id"`
	Version      uint64      `json:"version"`
	Brokers      []Broker    `json:"brokers"`
	Topics       []topicJSON `json:"topics"`
	// NextProducerID is omitted while zero, so older snapshots read the same.
	NextProducerID int64 `json:"next_producer_id,omitempty"`
	// Security state (security.go), omitted while empty.
	ScramCredentials []scramCredentialJSON `json:"scram_credentials,omitempty"`
	ACLs             []auth.ACL            `json:"acls,omitempty"`
}

type topicJSON struct {
	Name       string            `json:"name"`
	ID         UUID              `json:"id"`
	Partitions []Partition       `json:"partitions"`
	Configs    map[string]string `json:"configs,omitempty"`
}

// MarshalSnapshot encodes s as JSON, deterministically (raft snapshots, snapshot.json).
func MarshalSnapshot(s *Snapshot) ([]byte, error) {
	out := snapshotJSON{
		Format:         snapshotFormat,
		ClusterID:      s.ClusterID,
		ControllerID:   s.ControllerID,
		Version:        s.Version,
		Brokers:        s.Brokers,
		Topics:         make([]topicJSON, 0, len(s.Topics)),
		NextProducerID: s.NextProducerID,
	}
	if out.Brokers == nil {
		out.Brokers = []Broker{}
	}
	for _, name := range s.TopicNames() {
		t := s.Topics[name]
		out.Topics = append(out.Topics, topicJSON{Name: t.Name, ID: t.ID, Partitions: t.Partitions, Configs: t.Configs})
	}
	out.ScramCredentials, out.ACLs = marshalSecurity(s)
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("marshal metadata snapshot: %w", err)
	}
	return b, nil
}

// UnmarshalSnapshot decodes what MarshalSnapshot wrote. The result is checked as
// thoroughly as commands are (names, ids, placements), so a damaged file is an
// error here rather than a surprise later.
func UnmarshalSnapshot(b []byte) (*Snapshot, error) {
	var in snapshotJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("decode metadata snapshot: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("decode metadata snapshot: trailing data after the JSON object")
	}
	if in.Format != snapshotFormat {
		return nil, fmt.Errorf("decode metadata snapshot: format %d, this broker reads %d", in.Format, snapshotFormat)
	}
	// Rebuild through the same checks the state machine applies to commands.
	m := NewMetadata(in.ClusterID, in.ControllerID)
	for _, b := range in.Brokers {
		if _, ok := m.Snapshot().Broker(b.ID); ok {
			return nil, fmt.Errorf("decode metadata snapshot: broker %d listed twice", b.ID)
		}
		if err := m.Apply(Command{RegisterBroker: &BrokerRegistration{Broker: b}}); err != nil {
			return nil, fmt.Errorf("decode metadata snapshot: %w", err)
		}
	}
	for _, t := range in.Topics {
		// Restore, not create: partitions may be offline or mid-reassignment.
		cur := m.Snapshot()
		next := *cur
		next.Topics = maps.Clone(cur.Topics)
		next.TopicsByID = maps.Clone(cur.TopicsByID)
		if err := next.createTopic(&TopicCreation{Name: t.Name, ID: t.ID, Partitions: t.Partitions, Configs: t.Configs}, true); err != nil {
			return nil, fmt.Errorf("decode metadata snapshot: create_topic: %w", err)
		}
		next.Version++
		m.Restore(&next)
	}
	// The rebuilt snapshot is private to this call until returned, so setting its
	// version in place is safe.
	if in.NextProducerID < 0 {
		return nil, fmt.Errorf("decode metadata snapshot: negative next producer id %d", in.NextProducerID)
	}
	if err := restoreSecurity(m, in.ScramCredentials, in.ACLs); err != nil {
		return nil, fmt.Errorf("decode metadata snapshot: %w", err)
	}
	s := m.Snapshot()
	s.Version = in.Version
	s.NextProducerID = in.NextProducerID
	return s, nil
}
