package group

import (
	"bytes"
	"slices"
	"time"
)

// State is a group's place in the classic rebalance protocol.
type State int8

// The states of a classic group, as Kafka names them.
const (
	// Empty: no members. The group may still hold committed offsets.
	Empty State = iota
	// PreparingRebalance: waiting for every known member to (re)join.
	PreparingRebalance
	// CompletingRebalance: join responses sent; waiting for the leader's assignment.
	CompletingRebalance
	// Stable: every member has its assignment; heartbeats keep members alive.
	Stable
	// Dead: the group was deleted, expired or unloaded; nothing refers to it any more.
	Dead
)

// String is the name Kafka uses in DescribeGroups and ListGroups.
func (s State) String() string {
	switch s {
	case Empty:
		return "Empty"
	case PreparingRebalance:
		return "PreparingRebalance"
	case CompletingRebalance:
		return "CompletingRebalance"
	case Stable:
		return "Stable"
	case Dead:
		return "Dead"
	}
	return "Unknown"
}

// ParseState is the inverse of String, case-insensitively (ListGroups state filters).
func ParseState(s string) (State, bool) {
	for st := Empty; st <= Dead; st++ {
		if equalFold(st.String(), s) {
			return st, true
		}
	}
	return 0, false
}

func equalFold(a, b string) bool {
	return bytes.EqualFold([]byte(a), []byte(b))
}

// Waiter identifies a request whose reply the state machine may hold back (JoinGroup
// until the rebalance completes, SyncGroup until the leader's assignment arrives).
// The driver chooses the values; 0 means "no waiter" and must not be used.
type Waiter uint64

// Protocol is one assignor a member supports, with its subscription metadata.
type Protocol struct {
	Name     string
	Metadata []byte
}

// Settings are the broker-wide limits every group obeys. One value is shared by all
// groups of a Coordinator and never changed after creation.
type Settings struct {
	// MinSessionTimeout is group.min.session.timeout.ms.
	MinSessionTimeout time.Duration
	// MaxSessionTimeout is group.max.session.timeout.ms.
	MaxSessionTimeout time.Duration
	// InitialRebalanceDelay is group.initial.rebalance.delay.ms: how long the first
	// rebalance of an empty group waits for more members.
	InitialRebalanceDelay time.Duration
	// MaxSize is group.max.size; 0 means unlimited.
	MaxSize int
	// NewMemberID returns a fresh member id starting with prefix (the client id, or
	// the group instance id of a static member). It is the machine's only source of
	// new names, so tests make it deterministic.
	NewMemberID func(prefix string) string
}

// member is one group member as the coordinator knows it.
type member struct {
	id               string
	instanceID       string // "" for a dynamic member
	clientID         string
	clientHost       string
	sessionTimeout   time.Duration
	rebalanceTimeout time.Duration
	protocolType     string
	protocols        []Protocol
	assignment       []byte
	joinWaiter       Waiter    // held JoinGroup; non-zero means "awaiting join"
	syncWaiter       Waiter    // held SyncGroup; non-zero means "awaiting sync"
	deadline         time.Time // session expiry, checked only when awaiting neither
}

// matches reports whether protocols equal the member's, names and metadata alike.
func (m *member) matches(protocols []Protocol) bool {
	return slices.EqualFunc(m.protocols, protocols, func(a, b Protocol) bool {
		return a.Name == b.Name && bytes.Equal(a.Metadata, b.Metadata)
	})
}

// metadata returns the member's subscription metadata for protocol.
func (m *member) metadata(protocol string) []byte {
	for _, p := range m.protocols {
		if p.Name == protocol {
			return p.Metadata
		}
	}
	return nil
}

// Group is the state machine of one classic consumer group. It does no I/O, starts
// no goroutines and reads no clock: every event carries the current time, held
// replies come back in Effects, and timers are deadlines checked by Tick. A Group is
// not safe for concurrent use; its driver serializes events.
type Group struct {
	id    string
	set   *Settings
	state State
	// stateTime is when the group entered its current state (Kafka's
	// currentStateTimestamp); offsets of an empty group expire relative to it.
	stateTime    time.Time
	generation   int32
	protocolType string // "" until a member joins; kept while Empty
	protocol     string // the selected assignor; "" when Empty
	leader       string
	members      map[string]*member
	order        []string             // member ids in join order: leader succession, response order
	static       map[string]string    // group instance id -> member id
	pending      map[string]time.Time // ids handed out with MEMBER_ID_REQUIRED -> expiry
	pendingSync  map[string]bool      // members of this generation that have not sent SyncGroup
	syncDeadline time.Time            // when pendingSync members are removed

	// Rebalance timers, valid in PreparingRebalance.
	rebalanceDeadline time.Time
	initialDelay      bool          // the first rebalance of an empty group: wait the delay
	delayDeadline     time.Time     // end of the current initial delay
	delayRemaining    time.Duration // how much longer the delay may still be extended
	newMemberAdded    bool          // a member joined during the current initial delay

	offsets map[TopicPartition]Offset
	// subscribed is the union of the members' topics when every member's metadata
	// parses as a consumer subscription; nil when unknown.
	subscribed map[string]bool
}

// NewGroup returns an empty group named id. set must outlive the group.
func NewGroup(id string, set *Settings, now time.Time) *Group {
	return &Group{
		id:          id,
		set:         set,
		state:       Empty,
		stateTime:   now,
		members:     map[string]*member{},
		static:      map[string]string{},
		pending:     map[string]time.Time{},
		pendingSync: map[string]bool{},
		offsets:     map[TopicPartition]Offset{},
	}
}

// ID is the group id.
func (g *Group) ID() string { return g.id }

// State is the current state.
func (g *Group) State() State { return g.state }

// Generation is the current generation id.
func (g *Group) Generation() int32 { return g.generation }

// Leader is the leader's member id, "" when none.
func (g *Group) Leader() string { return g.leader }

// Protocol is the selected assignor, "" when none.
func (g *Group) Protocol() string { return g.protocol }

// ProtocolType is the members' protocol type ("consumer" for consumers), "" when
// the group only stores offsets.
func (g *Group) ProtocolType() string { return g.protocolType }

// NumMembers is the number of members, pending ones excluded.
func (g *Group) NumMembers() int { return len(g.members) }

// MemberIDs returns the member ids in join order.
func (g *Group) MemberIDs() []string { return slices.Clone(g.order) }

// Assignment returns a member's current assignment.
func (g *Group) Assignment(memberID string) ([]byte, bool) {
	m, ok := g.members[memberID]
	if !ok {
		return nil, false
	}
	return m.assignment, true
}

// MemberDescription is one member as DescribeGroups shows it.
type MemberDescription struct {
	MemberID, InstanceID, ClientID, ClientHost string
	Metadata, Assignment                       []byte
}

// Description is a group as DescribeGroups shows it.
type Description struct {
	Group        string
	State        State
	ProtocolType string
	Protocol     string
	Members      []MemberDescription
}

// Describe summarizes the group. As in Kafka, protocol, metadata and assignments
// are shown only when the group is Stable, since they are in flux otherwise.
func (g *Group) Describe() Description {
	d := Description{Group: g.id, State: g.state, ProtocolType: g.protocolType}
	if g.state == Stable {
		d.Protocol = g.protocol
	}
	for _, id := range g.order {
		m := g.members[id]
		md := MemberDescription{MemberID: id, InstanceID: m.instanceID, ClientID: m.clientID, ClientHost: m.clientHost}
		if g.state == Stable {
			md.Metadata = m.metadata(g.protocol)
			md.Assignment = m.assignment
		}
		d.Members = append(d.Members, md)
	}
	return d
}

// Effects is what an event asks of the driver. When Store is set the driver must
// persist the group's metadata (GroupMetadataValue) durably before sending any of
// Replies; if that fails it sends the replies as errors and calls StoreFailed.
type Effects struct {
	Replies []Reply
	Store   bool
}

// Reply releases a held or immediate reply. Exactly one of Join and Sync is set.
type Reply struct {
	To   Waiter
	Join *JoinResult
	Sync *SyncResult
}

func (e *Effects) join(to Waiter, r JoinResult) {
	e.Replies = append(e.Replies, Reply{To: to, Join: &r})
}

func (e *Effects) sync(to Waiter, r SyncResult) {
	e.Replies = append(e.Replies, Reply{To: to, Sync: &r})
}

func (e *Effects) merge(o Effects) {
	e.Replies = append(e.Replies, o.Replies...)
	e.Store = e.Store || o.Store
}

func (g *Group) transition(s State, now time.Time) {
	g.state = s
	g.stateTime = now
}

// add makes m a member. The first member fixes the group's protocol type and
// becomes leader.
func (g *Group) add(m *member) {
	if len(g.members) == 0 {
		g.protocolType = m.protocolType
	}
	g.members[m.id] = m
	g.order = append(g.order, m.id)
	if g.leader == "" {
		g.leader = m.id
	}
	if m.instanceID != "" {
		g.static[m.instanceID] = m.id
	}
}

// remove forgets a member; the next member in join order inherits leadership.
func (g *Group) remove(id string) {
	m, ok := g.members[id]
	if !ok {
		return
	}
	delete(g.members, id)
	g.order = slices.DeleteFunc(g.order, func(s string) bool { return s == id })
	if m.instanceID != "" && g.static[m.instanceID] == id {
		delete(g.static, m.instanceID)
	}
	delete(g.pendingSync, id)
	if g.leader == id {
		g.leader = ""
		if len(g.order) > 0 {
			g.leader = g.order[0]
		}
	}
}

// checkMember validates a request's member and instance ids: a known instance id
// held by another member id is fenced; an unknown member id is unknown.
func (g *Group) checkMember(memberID, instanceID string) error {
	if instanceID != "" {
		if cur, ok := g.static[instanceID]; ok && cur != memberID {
			return ErrFencedInstanceID
		}
	}
	if _, ok := g.members[memberID]; !ok {
		return ErrUnknownMemberID
	}
	return nil
}

// candidateProtocols are the protocols every member supports, in the order the
// first member prefers them.
func (g *Group) candidateProtocols() []string {
	if len(g.order) == 0 {
		return nil
	}
	var out []string
	for _, p := range g.members[g.order[0]].protocols {
		all := true
		for _, id := range g.order[1:] {
			if !hasProtocol(g.members[id].protocols, p.Name) {
				all = false
				break
			}
		}
		if all && !slices.Contains(out, p.Name) {
			out = append(out, p.Name)
		}
	}
	return out
}

func hasProtocol(ps []Protocol, name string) bool {
	return slices.ContainsFunc(ps, func(p Protocol) bool { return p.Name == name })
}

// selectProtocol picks the assignor for the next generation as Kafka does: among
// the protocols every member supports, each member votes for the one it lists
// first, and the most voted wins (ties go to the first member's preference).
func (g *Group) selectProtocol() string {
	cands := g.candidateProtocols()
	if len(cands) == 0 {
		return ""
	}
	votes := map[string]int{}
	for _, id := range g.order {
		for _, p := range g.members[id].protocols {
			if slices.Contains(cands, p.Name) {
				votes[p.Name]++
				break
			}
		}
	}
	best := cands[0]
	for _, c := range cands[1:] {
		if votes[c] > votes[best] {
			best = c
		}
	}
	return best
}

// supportsProtocols reports whether a joining member can be part of the group:
// an empty group takes any non-empty protocol type and list; otherwise the type
// must match and at least one protocol must be supported by every member.
func (g *Group) supportsProtocols(protocolType string, protocols []Protocol) bool {
	if len(g.members) == 0 {
		return protocolType != "" && len(protocols) > 0
	}
	if protocolType != g.protocolType {
		return false
	}
	cands := g.candidateProtocols()
	return slices.ContainsFunc(protocols, func(p Protocol) bool { return slices.Contains(cands, p.Name) })
}

// rebalanceTimeout is the largest rebalance timeout among the members.
func (g *Group) rebalanceTimeout() time.Duration {
	var d time.Duration
	for _, m := range g.members {
		d = max(d, m.rebalanceTimeout)
	}
	return d
}
