package deploy

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// protocolName is the balancer's name in JoinGroup.
const protocolName = "tributary-worker-v1"

// memberMeta is what a worker says about itself in JoinGroup.
type memberMeta struct {
	ID  string `json:"id"`
	URL string `json:"url,omitempty"`
}

// assignment is what the group leader hands each member.
type assignment struct {
	// Workers are the live members, sorted by id, without duplicates.
	Workers []memberMeta `json:"workers"`
	// Configs are the partitions of ConfigsTopic to read: all of them.
	Configs []int32 `json:"configs"`
}

// balancer is the workers' kgo.GroupBalancer. See the package doc.
type balancer struct {
	self memberMeta

	mu      sync.Mutex
	workers []memberMeta // from the last assignment
	gen     int          // counts assignments received
}

var _ kgo.GroupBalancer = (*balancer)(nil)

func (b *balancer) ProtocolName() string { return protocolName }
func (b *balancer) IsCooperative() bool  { return false }

func (b *balancer) JoinGroupMetadata([]string, map[string][]int32, int32) []byte {
	v, _ := json.Marshal(b.self) // strings only: cannot fail
	return v
}

func (b *balancer) ParseSyncAssignment(data []byte) (map[string][]int32, error) {
	var a assignment
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("decode worker assignment: %w", err)
	}
	b.mu.Lock()
	b.workers = a.Workers
	b.gen++
	b.mu.Unlock()
	return map[string][]int32{ConfigsTopic: a.Configs}, nil
}

// members returns the live workers of the last assignment.
func (b *balancer) members() ([]memberMeta, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.workers), b.gen
}

func (b *balancer) MemberBalancer(members []kmsg.JoinGroupResponseMember) (kgo.GroupMemberBalancer, map[string]struct{}, error) {
	mb := &memberBalancer{ids: make([]string, len(members))}
	byID := map[string]memberMeta{}
	for i, m := range members {
		var meta memberMeta
		if err := json.Unmarshal(m.ProtocolMetadata, &meta); err != nil || meta.ID == "" {
			return nil, nil, fmt.Errorf("member %s: bad worker metadata: %v", m.MemberID, err)
		}
		mb.ids[i] = m.MemberID
		byID[meta.ID] = meta
	}
	for _, m := range byID {
		mb.workers = append(mb.workers, m)
	}
	slices.SortFunc(mb.workers, func(a, b memberMeta) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return mb, map[string]struct{}{ConfigsTopic: {}}, nil
}

// memberBalancer gives every member the same assignment: every configs
// partition and the sorted worker list.
type memberBalancer struct {
	ids     []string
	workers []memberMeta
}

func (m *memberBalancer) Balance(topics map[string]int32) kgo.IntoSyncAssignment {
	a := assignment{Workers: m.workers}
	for p := range topics[ConfigsTopic] {
		a.Configs = append(a.Configs, p)
	}
	data, _ := json.Marshal(a) // cannot fail
	out := make(syncAssignment, len(m.ids))
	for i, id := range m.ids {
		out[i] = kmsg.SyncGroupRequestGroupAssignment{MemberID: id, MemberAssignment: data}
	}
	return out
}

type syncAssignment []kmsg.SyncGroupRequestGroupAssignment

func (s syncAssignment) IntoSyncAssignment() []kmsg.SyncGroupRequestGroupAssignment { return s }

// owner returns the index in workers of the owner of units[i] under the
// round-robin rule of the package doc.
func owner(i, workers int) int { return i % workers }
