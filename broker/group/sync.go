package group

import "time"

// SyncRequest is a SyncGroup request as the state machine needs it.
type SyncRequest struct {
	MemberID   string
	InstanceID string
	Generation int32
	// ProtocolType and Protocol are checked against the group's when non-empty (v5+).
	ProtocolType string
	Protocol     string
	// Assignments is the leader's plan, member id -> assignment; ignored from followers.
	Assignments map[string][]byte
}

// SyncResult is a SyncGroup response.
type SyncResult struct {
	Err          error
	ProtocolType string
	Protocol     string
	Assignment   []byte
}

// Sync handles a SyncGroup request held as w. In CompletingRebalance every member's
// reply waits for the leader's assignment; the leader's sync moves the group to
// Stable and asks the driver to store it before the replies go out.
func (g *Group) Sync(now time.Time, w Waiter, req SyncRequest) Effects {
	var eff Effects
	fail := func(err error) Effects {
		eff.sync(w, SyncResult{Err: err})
		return eff
	}
	if g.state == Dead {
		return fail(ErrCoordinatorNotAvailable)
	}
	if err := g.checkMember(req.MemberID, req.InstanceID); err != nil {
		return fail(err)
	}
	switch {
	case req.Generation != g.generation:
		return fail(ErrIllegalGeneration)
	case req.ProtocolType != "" && req.ProtocolType != g.protocolType,
		req.Protocol != "" && req.Protocol != g.protocol:
		return fail(ErrInconsistentProtocol)
	}
	m := g.members[req.MemberID]
	switch g.state {
	case PreparingRebalance:
		return fail(ErrRebalanceInProgress)
	case CompletingRebalance:
		if m.syncWaiter != 0 && m.syncWaiter != w {
			eff.sync(m.syncWaiter, SyncResult{Err: ErrRebalanceInProgress})
		}
		m.syncWaiter = w
		delete(g.pendingSync, m.id)
		if m.id != g.leader {
			return eff
		}
		for _, id := range g.order {
			// Members the leader left out get an empty assignment, as in Kafka.
			g.members[id].assignment = req.Assignments[id]
		}
		g.transition(Stable, now)
		eff.Store = true
		for _, id := range g.order {
			mm := g.members[id]
			if mm.syncWaiter != 0 {
				eff.sync(mm.syncWaiter, g.syncResult(mm))
				mm.syncWaiter = 0
				mm.deadline = now.Add(mm.sessionTimeout)
			}
		}
	case Stable:
		delete(g.pendingSync, m.id)
		m.deadline = now.Add(m.sessionTimeout)
		eff.sync(w, g.syncResult(m))
	default:
		return fail(ErrUnknownMemberID)
	}
	return eff
}

func (g *Group) syncResult(m *member) SyncResult {
	return SyncResult{ProtocolType: g.protocolType, Protocol: g.protocol, Assignment: m.assignment}
}

// Heartbeat handles a Heartbeat request: it extends the member's session and tells
// it whether it must rejoin (ErrRebalanceInProgress).
func (g *Group) Heartbeat(now time.Time, memberID, instanceID string, generation int32) error {
	switch g.state {
	case Dead:
		return ErrCoordinatorNotAvailable
	case Empty:
		return ErrUnknownMemberID
	}
	if err := g.checkMember(memberID, instanceID); err != nil {
		return err
	}
	if generation != g.generation {
		return ErrIllegalGeneration
	}
	m := g.members[memberID]
	m.deadline = now.Add(m.sessionTimeout)
	if g.state == PreparingRebalance {
		return ErrRebalanceInProgress
	}
	return nil
}

// LeaveMember is one member of a LeaveGroup request. MemberID may be empty when
// InstanceID names a static member (an admin removing it).
type LeaveMember struct {
	MemberID   string
	InstanceID string
}

// Leave handles a LeaveGroup request: one error per member, in order.
func (g *Group) Leave(now time.Time, members []LeaveMember) ([]error, Effects) {
	var eff Effects
	errs := make([]error, len(members))
	for i, lm := range members {
		if g.state == Dead {
			errs[i] = ErrCoordinatorNotAvailable
			continue
		}
		id := lm.MemberID
		if id != "" {
			if _, ok := g.pending[id]; ok {
				delete(g.pending, id)
				g.maybeCompleteJoin(now, &eff)
				continue
			}
		}
		if id == "" && lm.InstanceID != "" {
			cur, ok := g.static[lm.InstanceID]
			if !ok {
				errs[i] = ErrUnknownMemberID
				continue
			}
			id = cur
		}
		if err := g.checkMember(id, lm.InstanceID); err != nil {
			errs[i] = err
			continue
		}
		g.removeAndRebalance(now, g.members[id], &eff)
	}
	return errs, eff
}

// removeAndRebalance removes a member that left or expired, answering whatever it
// still held, and rebalances the others.
func (g *Group) removeAndRebalance(now time.Time, m *member, eff *Effects) {
	if m.joinWaiter != 0 {
		eff.join(m.joinWaiter, JoinResult{Err: ErrUnknownMemberID, Generation: -1})
		m.joinWaiter = 0
	}
	if m.syncWaiter != 0 {
		eff.sync(m.syncWaiter, SyncResult{Err: ErrUnknownMemberID})
		m.syncWaiter = 0
	}
	g.remove(m.id)
	switch g.state {
	case Stable, CompletingRebalance:
		g.prepareRebalance(now, eff)
	case PreparingRebalance:
		g.maybeCompleteJoin(now, eff)
	}
}

// Tick fires every deadline that has passed at now: pending member ids and member
// sessions expire, a rebalance times out, the initial delay ends, members that
// never sent SyncGroup are removed.
func (g *Group) Tick(now time.Time) Effects {
	var eff Effects
	if g.state == Dead {
		return eff
	}
	for id, dl := range g.pending {
		if !now.Before(dl) {
			delete(g.pending, id)
		}
	}
	for _, id := range g.MemberIDs() {
		m, ok := g.members[id]
		if ok && m.joinWaiter == 0 && m.syncWaiter == 0 && !now.Before(m.deadline) {
			g.removeAndRebalance(now, m, &eff)
		}
	}
	if (g.state == CompletingRebalance || g.state == Stable) && len(g.pendingSync) > 0 && !now.Before(g.syncDeadline) {
		for _, id := range g.MemberIDs() {
			if g.pendingSync[id] {
				m := g.members[id]
				if m.joinWaiter != 0 {
					eff.join(m.joinWaiter, JoinResult{Err: ErrUnknownMemberID, Generation: -1})
				}
				g.remove(id)
			}
		}
		g.prepareRebalance(now, &eff)
	}
	g.maybeCompleteJoin(now, &eff)
	return eff
}

// StoreFailed is called by the driver when persisting the group (Effects.Store)
// failed. The replies of that step were sent as errors; the members must rebalance
// so that what the log holds and what they were told agree again.
func (g *Group) StoreFailed(now time.Time) Effects {
	var eff Effects
	switch g.state {
	case Stable, CompletingRebalance:
		for _, m := range g.members {
			m.assignment = nil
		}
		g.prepareRebalance(now, &eff)
	}
	return eff
}

// Unload marks the group Dead because the coordinator no longer serves it
// (shutdown, or its __consumer_offsets partition moved); every held request is
// answered with ErrNotCoordinator so the clients look for the new coordinator.
func (g *Group) Unload(now time.Time) Effects {
	var eff Effects
	for _, id := range g.order {
		m := g.members[id]
		if m.joinWaiter != 0 {
			eff.join(m.joinWaiter, JoinResult{Err: ErrNotCoordinator, MemberID: id, Generation: -1})
			m.joinWaiter = 0
		}
		if m.syncWaiter != 0 {
			eff.sync(m.syncWaiter, SyncResult{Err: ErrNotCoordinator})
			m.syncWaiter = 0
		}
	}
	g.transition(Dead, now)
	return eff
}

// CanDelete reports whether DeleteGroups may remove the group: only an Empty one can.
func (g *Group) CanDelete() error {
	switch g.state {
	case Empty:
		return nil
	case Dead:
		return ErrGroupNotFound
	}
	return ErrNonEmptyGroup
}

// MarkDead ends an Empty group that was deleted or whose offsets all expired.
func (g *Group) MarkDead(now time.Time) {
	g.transition(Dead, now)
	clear(g.offsets)
}
