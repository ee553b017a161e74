package group

import "time"

// JoinRequest is a JoinGroup request as the state machine needs it.
type JoinRequest struct {
	MemberID         string // "" for a member joining for the first time
	InstanceID       string // group.instance.id; "" for a dynamic member
	ClientID         string
	ClientHost       string
	SessionTimeout   time.Duration
	RebalanceTimeout time.Duration
	ProtocolType     string
	Protocols        []Protocol
	// RequireKnownMemberID is set for JoinGroup v4+: a new dynamic member first gets
	// MEMBER_ID_REQUIRED with its id, and joins for real with that id (KIP-394).
	RequireKnownMemberID bool
}

// JoinMember is one member as the leader's JoinGroup response lists it.
type JoinMember struct {
	MemberID   string
	InstanceID string
	Metadata   []byte
}

// JoinResult is a JoinGroup response.
type JoinResult struct {
	Err          error
	MemberID     string
	Generation   int32
	ProtocolType string
	Protocol     string
	LeaderID     string
	// Members is set for the leader only: everyone's metadata for Protocol.
	Members []JoinMember
	// SkipAssignment tells a restarted static leader that it is leader but must not
	// assign: the group is Stable and keeps its assignment (KIP-814, JoinGroup v9).
	SkipAssignment bool
	// OldLeaderID is, with SkipAssignment, the leader's member id before the restart:
	// JoinGroup v8 and older answer with it so that the client does not assign.
	OldLeaderID string
}

// Join handles a JoinGroup request held as w. The reply to w is in the returned
// Effects, either at once or later from another event.
func (g *Group) Join(now time.Time, w Waiter, req JoinRequest) Effects {
	var eff Effects
	fail := func(err error) Effects {
		eff.join(w, JoinResult{Err: err, MemberID: req.MemberID, Generation: -1})
		return eff
	}
	switch {
	case req.SessionTimeout < g.set.MinSessionTimeout || req.SessionTimeout > g.set.MaxSessionTimeout:
		return fail(ErrInvalidSessionTimeout)
	case g.state == Dead:
		// The group was just removed; the client finds the coordinator again.
		return fail(ErrCoordinatorNotAvailable)
	case !g.supportsProtocols(req.ProtocolType, req.Protocols):
		return fail(ErrInconsistentProtocol)
	}
	if req.MemberID == "" {
		return g.joinNew(now, w, req)
	}
	if _, ok := g.pending[req.MemberID]; ok {
		delete(g.pending, req.MemberID)
		g.addMember(now, w, req, req.MemberID, &eff)
		return eff
	}
	if err := g.checkMember(req.MemberID, req.InstanceID); err != nil {
		return fail(err)
	}
	m := g.members[req.MemberID]
	switch g.state {
	case PreparingRebalance:
		g.updateMember(m, w, req, &eff)
		g.maybeCompleteJoin(now, &eff)
	case CompletingRebalance:
		if m.matches(req.Protocols) {
			// A duplicate join (the response was lost): answer with the current generation.
			m.deadline = now.Add(m.sessionTimeout)
			eff.join(w, g.currentJoinResult(m.id))
		} else {
			g.updateMember(m, w, req, &eff)
			g.prepareRebalance(now, &eff)
		}
	case Stable:
		if m.id == g.leader || !m.matches(req.Protocols) {
			// A leader rejoins to reassign (its metadata view changed); anyone whose
			// subscription changed forces a rebalance too.
			g.updateMember(m, w, req, &eff)
			g.prepareRebalance(now, &eff)
		} else {
			m.deadline = now.Add(m.sessionTimeout)
			eff.join(w, g.currentJoinResult(m.id))
		}
	default:
		return fail(ErrUnknownMemberID)
	}
	return eff
}

// joinNew handles a join without a member id.
func (g *Group) joinNew(now time.Time, w Waiter, req JoinRequest) Effects {
	var eff Effects
	if g.set.MaxSize > 0 && len(g.members)+len(g.pending) >= g.set.MaxSize {
		eff.join(w, JoinResult{Err: ErrGroupMaxSizeReached, Generation: -1})
		return eff
	}
	if req.InstanceID != "" {
		id := g.set.NewMemberID(req.InstanceID)
		if old, ok := g.static[req.InstanceID]; ok {
			g.replaceStatic(now, w, req, old, id, &eff)
		} else {
			g.addMember(now, w, req, id, &eff)
		}
		return eff
	}
	id := g.set.NewMemberID(req.ClientID)
	if req.RequireKnownMemberID {
		// The member is told its id and must come back with it; until then it
		// counts as pending and holds up the rebalance, up to its session timeout.
		g.pending[id] = now.Add(req.SessionTimeout)
		eff.join(w, JoinResult{Err: ErrMemberIDRequired, MemberID: id, Generation: -1})
		return eff
	}
	g.addMember(now, w, req, id, &eff)
	return eff
}

// addMember adds a new member awaiting join and starts or continues a rebalance.
func (g *Group) addMember(now time.Time, w Waiter, req JoinRequest, id string, eff *Effects) {
	m := &member{
		id:               id,
		instanceID:       req.InstanceID,
		clientID:         req.ClientID,
		clientHost:       req.ClientHost,
		sessionTimeout:   req.SessionTimeout,
		rebalanceTimeout: req.RebalanceTimeout,
		protocolType:     req.ProtocolType,
		protocols:        req.Protocols,
		joinWaiter:       w,
		deadline:         now.Add(req.SessionTimeout),
	}
	g.add(m)
	if g.state == PreparingRebalance && g.generation == 0 {
		// Lets the initial delay extend itself while members keep arriving.
		g.newMemberAdded = true
	}
	g.maybePrepareRebalance(now, eff)
	g.maybeCompleteJoin(now, eff)
}

// updateMember records a known member's rejoin: new protocols and timeouts, and w
// as its held join. A join it still held is answered, since it is superseded.
func (g *Group) updateMember(m *member, w Waiter, req JoinRequest, eff *Effects) {
	if m.joinWaiter != 0 && m.joinWaiter != w {
		eff.join(m.joinWaiter, JoinResult{Err: ErrRebalanceInProgress, MemberID: m.id, Generation: -1})
	}
	m.protocols = req.Protocols
	m.sessionTimeout = req.SessionTimeout
	m.rebalanceTimeout = req.RebalanceTimeout
	m.joinWaiter = w
}

// replaceStatic gives a restarted static member (same instance id, no member id)
// the new id, fencing the old one. In a Stable group whose protocol stays the same
// it keeps its assignment and nobody rebalances (KIP-345).
func (g *Group) replaceStatic(now time.Time, w Waiter, req JoinRequest, oldID, newID string, eff *Effects) {
	m := g.members[oldID]
	if m.joinWaiter != 0 {
		eff.join(m.joinWaiter, JoinResult{Err: ErrFencedInstanceID, MemberID: oldID, Generation: -1})
		m.joinWaiter = 0
	}
	if m.syncWaiter != 0 {
		eff.sync(m.syncWaiter, SyncResult{Err: ErrFencedInstanceID})
		m.syncWaiter = 0
	}
	oldLeader := g.leader
	delete(g.members, oldID)
	m.id = newID
	g.members[newID] = m
	for i, id := range g.order {
		if id == oldID {
			g.order[i] = newID
		}
	}
	if g.leader == oldID {
		g.leader = newID
	}
	if g.pendingSync[oldID] {
		delete(g.pendingSync, oldID)
		g.pendingSync[newID] = true
	}
	g.static[req.InstanceID] = newID
	m.clientID, m.clientHost = req.ClientID, req.ClientHost
	m.deadline = now.Add(req.SessionTimeout)
	g.updateMember(m, w, req, eff)

	switch g.state {
	case Stable:
		if g.selectProtocol() == g.protocol {
			m.joinWaiter = 0
			res := g.currentJoinResult(newID)
			if newID == g.leader {
				res.SkipAssignment = true
				res.Members = g.currentMembers()
				res.OldLeaderID = oldLeader
			}
			eff.join(w, res)
			eff.Store = true
			return
		}
		g.prepareRebalance(now, eff)
	case CompletingRebalance:
		// The leader may be assigning to the old id; start over so the new id gets
		// an assignment.
		g.prepareRebalance(now, eff)
	case PreparingRebalance:
		g.maybeCompleteJoin(now, eff)
	}
}

// currentJoinResult answers a member with the current generation; the leader also
// gets the member list.
func (g *Group) currentJoinResult(id string) JoinResult {
	r := JoinResult{
		MemberID:     id,
		Generation:   g.generation,
		ProtocolType: g.protocolType,
		Protocol:     g.protocol,
		LeaderID:     g.leader,
	}
	if id == g.leader {
		r.Members = g.currentMembers()
	}
	return r
}

func (g *Group) currentMembers() []JoinMember {
	out := make([]JoinMember, 0, len(g.order))
	for _, id := range g.order {
		m := g.members[id]
		out = append(out, JoinMember{MemberID: id, InstanceID: m.instanceID, Metadata: m.metadata(g.protocol)})
	}
	return out
}

// maybePrepareRebalance starts a rebalance unless one is already being prepared.
func (g *Group) maybePrepareRebalance(now time.Time, eff *Effects) {
	switch g.state {
	case Empty, Stable, CompletingRebalance:
		g.prepareRebalance(now, eff)
	}
}

// prepareRebalance moves to PreparingRebalance. Members waiting for an assignment
// are told to rejoin. From Empty the initial delay applies; otherwise the rebalance
// ends when every member rejoined or after the largest rebalance timeout.
func (g *Group) prepareRebalance(now time.Time, eff *Effects) {
	if g.state == CompletingRebalance {
		for _, id := range g.order {
			m := g.members[id]
			m.assignment = nil
			if m.syncWaiter != 0 {
				eff.sync(m.syncWaiter, SyncResult{Err: ErrRebalanceInProgress})
				m.syncWaiter = 0
				m.deadline = now.Add(m.sessionTimeout)
			}
		}
	}
	clear(g.pendingSync)
	if g.state == Empty {
		d := g.set.InitialRebalanceDelay
		g.initialDelay = true
		g.delayDeadline = now.Add(d)
		g.delayRemaining = max(g.rebalanceTimeout()-d, 0)
		g.newMemberAdded = false
	} else {
		g.initialDelay = false
		g.rebalanceDeadline = now.Add(g.rebalanceTimeout())
	}
	g.transition(PreparingRebalance, now)
	g.maybeCompleteJoin(now, eff)
}

// allJoined reports whether every member is awaiting join and no id handed out
// with MEMBER_ID_REQUIRED is still outstanding.
func (g *Group) allJoined() bool {
	if len(g.pending) > 0 {
		return false
	}
	for _, m := range g.members {
		if m.joinWaiter == 0 {
			return false
		}
	}
	return true
}

// maybeCompleteJoin ends PreparingRebalance when its condition holds at now.
func (g *Group) maybeCompleteJoin(now time.Time, eff *Effects) {
	if g.state != PreparingRebalance {
		return
	}
	if g.initialDelay {
		if now.Before(g.delayDeadline) {
			return
		}
		if g.newMemberAdded && g.delayRemaining > 0 {
			d := min(g.set.InitialRebalanceDelay, g.delayRemaining)
			g.delayRemaining -= d
			g.delayDeadline = now.Add(d)
			g.newMemberAdded = false
			if d > 0 {
				return
			}
		}
		g.completeJoin(now, eff)
		return
	}
	if g.allJoined() || !now.Before(g.rebalanceDeadline) {
		g.completeJoin(now, eff)
	}
}

// completeJoin starts the next generation: dynamic members that did not rejoin are
// removed (static ones keep their place until their session expires), a protocol
// is selected, and every held join is answered.
func (g *Group) completeJoin(now time.Time, eff *Effects) {
	for _, id := range g.MemberIDs() {
		if m := g.members[id]; m.joinWaiter == 0 && m.instanceID == "" {
			g.remove(id)
		}
	}
	if !g.electJoinedLeader() && len(g.members) > 0 {
		// Only static members that have not rejoined are left: wait another round
		// for them to rejoin or for their sessions to expire.
		g.initialDelay = false
		g.rebalanceDeadline = now.Add(g.rebalanceTimeout())
		return
	}
	g.generation++
	clear(g.pendingSync)
	if len(g.members) == 0 {
		g.protocol = ""
		g.subscribed = nil
		g.transition(Empty, now)
		eff.Store = true
		return
	}
	g.protocol = g.selectProtocol()
	g.subscribed = g.computeSubscribed()
	g.transition(CompletingRebalance, now)
	for _, id := range g.order {
		m := g.members[id]
		if m.joinWaiter != 0 {
			eff.join(m.joinWaiter, g.currentJoinResult(id))
			m.joinWaiter = 0
		}
		m.deadline = now.Add(m.sessionTimeout)
		g.pendingSync[id] = true
	}
	g.syncDeadline = now.Add(g.rebalanceTimeout())
}

// electJoinedLeader keeps the leader if it rejoined, else picks the first member
// that did. It reports false when there is no leader or nobody rejoined.
func (g *Group) electJoinedLeader() bool {
	if g.leader == "" {
		return false
	}
	if g.members[g.leader].joinWaiter != 0 {
		return true
	}
	for _, id := range g.order {
		if g.members[id].joinWaiter != 0 {
			g.leader = id
			return true
		}
	}
	return false
}
