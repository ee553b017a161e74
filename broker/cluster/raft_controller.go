package cluster

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// controllerState is what the controller keeps outside the state machine: when
// each broker last heartbeated. It is rebuilt (everyone gets a fresh session)
// whenever a node becomes the controller.
type controllerState struct {
	mu       sync.Mutex
	lastSeen map[int32]time.Time
	// hb is closed to stop this broker's own heartbeats (controlled shutdown).
	hb     chan struct{}
	hbOnce sync.Once
}

func newControllerState() *controllerState {
	return &controllerState{lastSeen: map[int32]time.Time{}, hb: make(chan struct{})}
}

func (c *controllerState) hbStop() <-chan struct{} { return c.hb }
func (c *controllerState) stopHeartbeats()         { c.hbOnce.Do(func() { close(c.hb) }) }

func (c *controllerState) seen(id int32, now time.Time) {
	c.mu.Lock()
	c.lastSeen[id] = now
	c.mu.Unlock()
}

// expired lists live brokers of s whose session ran out at now.
func (c *controllerState) expired(s *Snapshot, now time.Time, timeout time.Duration) []int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int32
	for _, b := range s.Brokers {
		last, ok := c.lastSeen[b.ID]
		if !ok {
			c.lastSeen[b.ID] = now // first sight: a full session to heartbeat
			continue
		}
		if !b.Fenced && now.Sub(last) > timeout {
			out = append(out, b.ID)
		}
	}
	return out
}

func (c *controllerState) reset(s *Snapshot, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastSeen = map[int32]time.Time{}
	for _, b := range s.Brokers {
		c.lastSeen[b.ID] = now
	}
}

// proposer implementation: decisions run on the leader under propMu.
func (d *Raft) lock()              { d.propMu.Lock() }
func (d *Raft) unlock()            { d.propMu.Unlock() }
func (d *Raft) current() *Snapshot { return d.meta.Snapshot() }
func (d *Raft) random() io.Reader  { return d.cfg.Random }

// propose commits cmd through raft and returns the state after it. Only the
// leader proposes; the caller holds propMu.
func (d *Raft) propose(cmd Command, validateOnly bool) (*Snapshot, error) {
	next, err := d.meta.next(cmd)
	if err != nil || validateOnly {
		return next, err
	}
	b, err := json.Marshal(cmd)
	if err != nil {
		return nil, fmt.Errorf("encode command: %w", err)
	}
	f := d.r.Apply(b, d.cfg.RPCTimeout)
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("%w: raft apply: %v", ErrNotController, err)
	}
	res, _ := f.Response().(applyResult)
	if res.err != nil {
		return nil, res.err
	}
	return res.snap, nil
}

// proposeChanges proposes partition changes, if any. The caller holds propMu.
func (d *Raft) proposeChanges(chs []PartitionChange) error {
	if len(chs) == 0 {
		return nil
	}
	_, err := d.propose(Command{ChangePartitions: &PartitionChanges{Changes: chs}}, false)
	return err
}

// watchLeadership republishes the view when the raft leader changes, and runs
// the controller duties while this node leads.
func (d *Raft) watchLeadership() {
	defer d.wg.Done()
	tick := time.NewTicker(min(d.cfg.HeartbeatInterval/2, 100*time.Millisecond))
	defer tick.Stop()
	last := int32(-2)
	leading := false
	var lastPreferred time.Time
	for {
		select {
		case <-d.stop:
			return
		case <-tick.C:
		}
		if id := d.leaderID(); id != last {
			last = id
			d.publish()
		}
		isLeader := d.r.State() == raft.Leader
		if isLeader && !leading {
			// Apply everything committed before acting on the state.
			if err := d.awaitLeaderApplied(); err != nil {
				continue
			}
			d.ctrl.reset(d.meta.Snapshot(), d.cfg.Now())
			lastPreferred = d.cfg.Now()
			d.cfg.Logger.Info("became the controller", "node_id", d.cfg.NodeID)
		}
		leading = isLeader
		if !leading {
			continue
		}
		d.controllerTick(&lastPreferred)
	}
}

// controllerTick fences brokers whose session expired, brings offline
// partitions back, completes reassignments and periodically restores
// preferred leaders.
func (d *Raft) controllerTick(lastPreferred *time.Time) {
	now := d.cfg.Now()
	d.lock()
	defer d.unlock()
	for _, id := range d.ctrl.expired(d.current(), now, d.cfg.SessionTimeout) {
		d.cfg.Logger.Warn("broker missed its heartbeats; fencing it", "broker", id)
		if err := d.fenceLocked(id); err != nil {
			d.cfg.Logger.Warn("cannot fence broker", "broker", id, "err", err)
		}
	}
	if err := d.proposeChanges(onlineChanges(d.current())); err != nil {
		d.cfg.Logger.Warn("cannot elect leaders of offline partitions", "err", err)
	}
	if err := d.proposeChanges(completeReassignments(d.current())); err != nil {
		d.cfg.Logger.Warn("cannot complete reassignments", "err", err)
	}
	if d.cfg.PreferredElectionInterval > 0 && now.Sub(*lastPreferred) >= d.cfg.PreferredElectionInterval {
		*lastPreferred = now
		chs, _ := preferredChanges(d.current(), nil)
		if err := d.proposeChanges(chs); err != nil {
			d.cfg.Logger.Warn("cannot elect preferred leaders", "err", err)
		}
	}
}

// fenceLocked moves leaderships and ISR membership off broker, then fences it.
func (d *Raft) fenceLocked(broker int32) error {
	if err := d.proposeChanges(fenceChanges(d.current(), broker)); err != nil {
		return err
	}
	if b, ok := d.current().Broker(broker); !ok || b.Fenced {
		return nil
	}
	_, err := d.propose(Command{FenceBroker: &BrokerFencing{Broker: broker, Fenced: true}}, false)
	return err
}

// handleRPC answers a controller RPC: on the leader it executes it, elsewhere
// it forwards it to the leader once.
func (d *Raft) handleRPC(req ControllerRequest) ControllerResponse {
	if !d.rpcReady.Load() {
		// Still starting (a restarted node is called before raft is up):
		// the caller retries, as with any non-controller.
		return errorResponse(fmt.Errorf("%w: node %d is starting", ErrNotController, d.cfg.NodeID))
	}
	if d.r.State() == raft.Leader {
		return d.execute(req)
	}
	if req.Forwarded {
		return errorResponse(fmt.Errorf("%w: node %d", ErrNotController, d.cfg.NodeID))
	}
	req.Forwarded = true
	return d.forward(req)
}

// forward sends req to the leader, waiting a little for an election.
func (d *Raft) forward(req ControllerRequest) ControllerResponse {
	deadline := d.cfg.Now().Add(d.cfg.RPCTimeout)
	for {
		addr, _ := d.r.LeaderWithID()
		if addr != "" {
			if d.r.State() == raft.Leader {
				return d.execute(req)
			}
			resp, err := d.cfg.Caller(string(addr), req, d.cfg.RPCTimeout)
			if err == nil && resp.Code != "not_controller" {
				return resp
			}
			if err != nil && d.cfg.Now().After(deadline) {
				return errorResponse(fmt.Errorf("%w: %v", ErrNotController, err))
			}
		}
		if d.cfg.Now().After(deadline) {
			return errorResponse(fmt.Errorf("%w: no raft leader", ErrNotController))
		}
		select {
		case <-d.stop:
			return errorResponse(ErrClosed)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func errorResponse(err error) ControllerResponse {
	code, msg := encodeError(err)
	return ControllerResponse{Code: code, Error: msg}
}

// do runs a request on the controller (here or forwarded) and waits until the
// local state has caught up with its result.
func (d *Raft) do(req ControllerRequest) (ControllerResponse, error) {
	var resp ControllerResponse
	if d.r.State() == raft.Leader {
		resp = d.execute(req)
	} else {
		req.Forwarded = true
		resp = d.forward(req)
	}
	if err := resp.Err(); err != nil {
		return resp, err
	}
	d.waitVersion(resp.Version)
	return resp, nil
}

// awaitLeaderApplied returns once this leader has applied every entry that
// earlier terms committed (a barrier, once per term). Raft reports a node
// Leader as soon as it wins the election, before it applies what the old
// leader committed: answering from that state hands out stale metadata (a
// restarted node caught up to a view without its topics and set their logs
// aside as unknown).
func (d *Raft) awaitLeaderApplied() error {
	term := d.r.CurrentTerm()
	if d.appliedTerm.Load() == term {
		return nil
	}
	if err := d.r.Barrier(d.cfg.RPCTimeout).Error(); err != nil {
		return fmt.Errorf("%w: node %d cannot apply the log as leader: %v", ErrNotController, d.cfg.NodeID, err)
	}
	d.appliedTerm.Store(term)
	return nil
}

// execute runs a request on the leader.
func (d *Raft) execute(req ControllerRequest) ControllerResponse {
	var resp ControllerResponse
	if err := d.awaitLeaderApplied(); err != nil {
		return errorResponse(err)
	}
	var err error
	switch req.Op {
	case OpRegister:
		if req.Broker == nil {
			err = fmt.Errorf("%w: register without a broker", ErrInvalidCommand)
			break
		}
		d.ctrl.seen(req.Broker.ID, d.cfg.Now())
		err = registerBroker(d, *req.Broker)
	case OpCreateTopic:
		if req.Spec == nil {
			err = fmt.Errorf("%w: create without a spec", ErrInvalidCommand)
			break
		}
		resp.Topic, err = createTopic(d, *req.Spec, req.ValidateOnly)
	case OpDeleteTopic:
		err = deleteTopic(d, req.Name)
	case OpAddPartitions:
		err = addPartitions(d, req.Name, req.Total, req.Assignment, req.ValidateOnly)
	case OpSetConfigs:
		err = setTopicConfigs(d, req.Name, req.Configs, req.ValidateOnly)
	case OpAllocatePIDs:
		resp.First, err = allocateProducerIDs(d, req.BrokerID, req.Count)
	case OpHeartbeat:
		err = d.heartbeat(req.BrokerID)
	case OpAlterISR:
		err = d.alterISR(req.ISR)
	case OpControlledShutdown:
		d.lock()
		err = d.fenceLocked(req.BrokerID)
		d.unlock()
	case OpElectPreferred:
		d.lock()
		var chs []PartitionChange
		chs, resp.Results = preferredChanges(d.current(), req.Elect)
		err = d.proposeChanges(chs)
		d.unlock()
	case OpReassign:
		resp.Results, err = d.reassign(req.Reassign)
	case OpAddNode:
		err = d.addNode(req.Node)
	case OpRemoveNode:
		err = d.removeNode(req.BrokerID)
	case OpPropose:
		if req.Command == nil {
			err = fmt.Errorf("%w: propose without a command", ErrInvalidCommand)
			break
		}
		d.lock()
		_, err = d.propose(*req.Command, false)
		d.unlock()
	case OpStatus:
		resp.Status, err = d.status()
	default:
		err = fmt.Errorf("%w: unknown controller op %q", ErrInvalidCommand, req.Op)
	}
	if err != nil {
		return errorResponse(err)
	}
	resp.Version = d.meta.Snapshot().Version
	return resp
}

// heartbeat records a broker's liveness; a fenced broker is unfenced and the
// partitions waiting for it get their leader back.
func (d *Raft) heartbeat(id int32) error {
	d.ctrl.seen(id, d.cfg.Now())
	b, ok := d.current().Broker(id)
	if !ok {
		return fmt.Errorf("%w: broker %d is not registered", ErrUnknownBroker, id)
	}
	if !b.Fenced {
		return nil
	}
	d.lock()
	defer d.unlock()
	if b, ok = d.current().Broker(id); !ok || !b.Fenced {
		return nil
	}
	if _, err := d.propose(Command{FenceBroker: &BrokerFencing{Broker: id, Fenced: false}}, false); err != nil {
		return err
	}
	return d.proposeChanges(onlineChanges(d.current()))
}

func (d *Raft) alterISR(c *ISRChange) error {
	if c == nil {
		return fmt.Errorf("%w: alter_isr without a change", ErrInvalidCommand)
	}
	d.lock()
	defer d.unlock()
	ch, err := isrChange(d.current(), *c)
	if err != nil {
		return err
	}
	if err := d.proposeChanges([]PartitionChange{ch}); err != nil {
		return err
	}
	// An ISR that grew may complete a reassignment at once.
	return d.proposeChanges(completeReassignments(d.current()))
}

func (d *Raft) reassign(rs []Reassignment) ([]string, error) {
	d.lock()
	defer d.unlock()
	results := make([]string, len(rs))
	var chs []PartitionChange
	for i, r := range rs {
		ch, err := reassignChange(d.current(), r)
		if err != nil {
			results[i] = err.Error()
			continue
		}
		chs = append(chs, ch)
	}
	return results, d.proposeChanges(chs)
}

func (d *Raft) addNode(n *NodeSpec) error {
	if n == nil {
		return fmt.Errorf("%w: add_node without a node", ErrInvalidCommand)
	}
	f := d.r.GetConfiguration()
	if err := f.Error(); err != nil {
		return fmt.Errorf("raft configuration: %w", err)
	}
	voters := 0
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter && s.ID != raft.ServerID(strconv.Itoa(int(n.ID))) {
			voters++
		}
	}
	id := raft.ServerID(strconv.Itoa(int(n.ID)))
	var err error
	if voters < d.cfg.MaxVoters {
		err = d.r.AddVoter(id, raft.ServerAddress(n.RaftAddr), 0, d.cfg.RPCTimeout).Error()
	} else {
		err = d.r.AddNonvoter(id, raft.ServerAddress(n.RaftAddr), 0, d.cfg.RPCTimeout).Error()
	}
	if err != nil {
		return fmt.Errorf("add raft member %d at %s: %w", n.ID, n.RaftAddr, err)
	}
	return nil
}

// removeNode takes a node out of raft and fences it; the broker is
// unregistered when no partition names it (reassign its replicas first).
func (d *Raft) removeNode(id int32) error {
	if err := d.r.RemoveServer(raft.ServerID(strconv.Itoa(int(id))), 0, d.cfg.RPCTimeout).Error(); err != nil {
		return fmt.Errorf("remove raft member %d: %w", id, err)
	}
	d.lock()
	defer d.unlock()
	if _, ok := d.current().Broker(id); !ok {
		return nil
	}
	if err := d.fenceLocked(id); err != nil {
		return err
	}
	if _, err := d.propose(Command{UnregisterBroker: &BrokerUnregistration{Broker: id}}, false); err != nil {
		d.cfg.Logger.Warn("removed node still holds replicas; it stays registered (fenced)", "broker", id, "err", err)
	}
	return nil
}

func (d *Raft) status() (*Status, error) {
	f := d.r.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("raft configuration: %w", err)
	}
	s := d.meta.Snapshot()
	st := &Status{Controller: d.cfg.NodeID, Brokers: s.Brokers, Version: s.Version}
	for _, srv := range f.Configuration().Servers {
		id, _ := strconv.ParseInt(string(srv.ID), 10, 32)
		st.Members = append(st.Members, Member{ID: int32(id), RaftAddr: string(srv.Address), Voter: srv.Suffrage == raft.Voter})
	}
	slices.SortFunc(st.Members, func(a, b Member) int { return int(a.ID) - int(b.ID) })
	for _, name := range s.TopicNames() {
		for _, p := range s.Topics[name].Partitions {
			ref := PartitionRef{Topic: name, Partition: p.ID}
			if p.Leader == NoLeader {
				st.Offline = append(st.Offline, ref)
			} else if len(p.ISR) < len(p.Replicas) {
				st.Under = append(st.Under, ref)
			}
		}
	}
	return st, nil
}
