package cluster

import (
	"errors"
	"fmt"
	"time"

	"github.com/tributary-io/tributary/broker/auth"
)

// The Raft driver's methods match Local's, so the broker uses either through
// one interface; each runs on the controller (here, or forwarded to it) and
// returns once this node's copy of the metadata shows the change.

// RegisterBroker records this node's advertised address (and unfences it).
func (d *Raft) RegisterBroker(b Broker) error {
	if cur, ok := d.Snapshot().Broker(b.ID); ok && cur.Equal(b) {
		return nil
	}
	if _, err := d.do(ControllerRequest{Op: OpRegister, Broker: &b}); err != nil {
		return fmt.Errorf("register broker %d: %w", b.ID, err)
	}
	return nil
}

// CreateTopic is Create with a plain size.
func (d *Raft) CreateTopic(name string, partitions int32, rf int16, configs map[string]string, validateOnly bool) (*Topic, error) {
	return d.Create(TopicSpec{Name: name, Partitions: partitions, ReplicationFactor: rf, Configs: configs}, validateOnly)
}

// Create creates a topic on the controller, which places its replicas.
func (d *Raft) Create(spec TopicSpec, validateOnly bool) (*Topic, error) {
	resp, err := d.do(ControllerRequest{Op: OpCreateTopic, Spec: &spec, ValidateOnly: validateOnly})
	if err != nil {
		return nil, err
	}
	if t, ok := d.Snapshot().Topics[spec.Name]; ok && !validateOnly {
		return t, nil
	}
	return resp.Topic, nil
}

// DeleteTopic removes a topic.
func (d *Raft) DeleteTopic(name string) error {
	_, err := d.do(ControllerRequest{Op: OpDeleteTopic, Name: name})
	return err
}

// CreatePartitions raises a topic's partition count to total.
func (d *Raft) CreatePartitions(name string, total int32, validateOnly bool) error {
	return d.AddPartitions(name, total, nil, validateOnly)
}

// AddPartitions raises a topic's partition count, optionally placing the new ones.
func (d *Raft) AddPartitions(name string, total int32, assignment [][]int32, validateOnly bool) error {
	_, err := d.do(ControllerRequest{Op: OpAddPartitions, Name: name, Total: total, Assignment: assignment, ValidateOnly: validateOnly})
	return err
}

// SetTopicConfigs replaces a topic's config overrides.
func (d *Raft) SetTopicConfigs(name string, configs map[string]string, validateOnly bool) error {
	_, err := d.do(ControllerRequest{Op: OpSetConfigs, Name: name, Configs: configs, ValidateOnly: validateOnly})
	return err
}

// AllocateProducerIDs reserves a block of producer ids on the controller.
func (d *Raft) AllocateProducerIDs(broker int32, count int64) (int64, error) {
	resp, err := d.do(ControllerRequest{Op: OpAllocatePIDs, BrokerID: broker, Count: count})
	if err != nil {
		return 0, fmt.Errorf("allocate %d producer ids: %w", count, err)
	}
	return resp.First, nil
}

// AlterISR asks the controller to change a partition's ISR; this node must
// lead it at c.LeaderEpoch (ErrStaleLeader otherwise).
func (d *Raft) AlterISR(c ISRChange) error {
	_, err := d.do(ControllerRequest{Op: OpAlterISR, ISR: &c})
	return err
}

// ElectPreferred moves leadership of the partitions (nil: all) to their
// preferred replicas where possible; results[i] explains a partition left alone.
func (d *Raft) ElectPreferred(refs []PartitionRef) ([]string, error) {
	resp, err := d.do(ControllerRequest{Op: OpElectPreferred, Elect: refs})
	return resp.Results, err
}

// Reassign starts partition reassignments; results[i] is "" when accepted.
func (d *Raft) Reassign(rs []Reassignment) ([]string, error) {
	resp, err := d.do(ControllerRequest{Op: OpReassign, Reassign: rs})
	return resp.Results, err
}

// Status describes raft members, brokers and partition health.
func (d *Raft) Status() (*Status, error) {
	resp, err := d.do(ControllerRequest{Op: OpStatus})
	return resp.Status, err
}

// ErrNotCaughtUp: this node's metadata is behind what the controller had
// applied when asked (CatchUp); ask again.
var ErrNotCaughtUp = errors.New("cluster: metadata not caught up with the controller")

// CatchUp returns nil once this node's metadata has applied everything the
// controller had applied when asked. A node must not act on its view before:
// a restarted node whose raft log the leader has not replicated to yet (it
// backs off from a peer that was down) holds an old view, in which topics
// created since are unknown. It returns ErrNotController when no controller
// answers and ErrNotCaughtUp when the local copy is still behind.
func (d *Raft) CatchUp() error {
	resp, err := d.do(ControllerRequest{Op: OpStatus})
	if err != nil {
		return err
	}
	if got := d.published.Load(); got < resp.Version {
		return fmt.Errorf("%w: version %d here, %d on the controller", ErrNotCaughtUp, got, resp.Version)
	}
	return nil
}

// StartHeartbeats heartbeats the controller every HeartbeatInterval as broker
// self until ControlledShutdown or Close; a controller that does not know the
// broker (a restored snapshot) gets it registered again.
func (d *Raft) StartHeartbeats(self Broker) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		t := time.NewTicker(d.cfg.HeartbeatInterval)
		defer t.Stop()
		for {
			select {
			case <-d.stop:
				return
			case <-d.ctrl.hbStop():
				return
			case <-t.C:
			}
			_, err := d.do(ControllerRequest{Op: OpHeartbeat, BrokerID: self.ID})
			if errors.Is(err, ErrUnknownBroker) {
				err = d.RegisterBroker(self)
			}
			if err != nil {
				d.cfg.Logger.Debug("heartbeat failed", "err", err)
			}
		}
	}()
}

// ControlledShutdown stops the heartbeats and asks the controller to move
// every leadership and ISR membership off this broker, then waits (bounded by
// timeout) until the local metadata shows it leads nothing.
func (d *Raft) ControlledShutdown(timeout time.Duration) error {
	d.ctrl.stopHeartbeats()
	deadline := time.Now().Add(timeout)
	noLeaderSince := time.Time{}
	for {
		// Without a controller (the other voters are gone) nothing can move:
		// give up after a few election timeouts instead of the whole timeout.
		if d.leaderID() < 0 {
			if noLeaderSince.IsZero() {
				noLeaderSince = time.Now()
			} else if time.Since(noLeaderSince) > 3*d.cfg.ElectionTimeout {
				return fmt.Errorf("controlled shutdown of %d: %w: no raft leader", d.cfg.NodeID, ErrNotController)
			}
			select {
			case <-d.stop:
				return ErrClosed
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		noLeaderSince = time.Time{}
		_, err := d.do(ControllerRequest{Op: OpControlledShutdown, BrokerID: d.cfg.NodeID})
		if err == nil && !leadsAny(d.Snapshot(), d.cfg.NodeID) {
			return nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = errors.New("still leading partitions")
			}
			return fmt.Errorf("controlled shutdown of %d: %w", d.cfg.NodeID, err)
		}
		select {
		case <-d.stop:
			return ErrClosed
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// leadsAny reports whether id leads a partition that has another replica to
// move to (a single-replica partition cannot move).
func leadsAny(s *Snapshot, id int32) bool {
	for _, t := range s.Topics {
		for _, p := range t.Partitions {
			if p.Leader == id && len(p.ISR) > 1 {
				return true
			}
		}
	}
	return false
}

// proposeDecided commits a command decided in full by the caller (security
// changes carry everything they need).
func (d *Raft) proposeDecided(cmd Command) error {
	_, err := d.do(ControllerRequest{Op: OpPropose, Command: &cmd})
	return err
}

// UpsertScramCredential durably stores user's credential.
func (d *Raft) UpsertScramCredential(user string, c auth.Credential) error {
	if err := d.proposeDecided(Command{UpsertScramCredential: &ScramCredentialUpsert{User: user, Credential: c}}); err != nil {
		return fmt.Errorf("store %s credential of %s: %w", c.Mechanism, user, err)
	}
	return nil
}

// DeleteScramCredential durably removes user's credential for m.
func (d *Raft) DeleteScramCredential(user string, m auth.ScramMechanism) error {
	if err := d.proposeDecided(Command{DeleteScramCredential: &ScramCredentialDeletion{User: user, Mechanism: m}}); err != nil {
		return fmt.Errorf("delete %s credential of %s: %w", m, user, err)
	}
	return nil
}

// CreateACLs durably adds bindings.
func (d *Raft) CreateACLs(acls []auth.ACL) error {
	if err := d.proposeDecided(Command{CreateACLs: &ACLCreation{ACLs: acls}}); err != nil {
		return fmt.Errorf("create %d acls: %w", len(acls), err)
	}
	return nil
}

// DeleteACLs removes every binding any filter selects, as matched against this
// node's copy of the metadata, and returns them per filter.
func (d *Raft) DeleteACLs(filters []auth.ACLFilter) ([][]auth.ACL, error) {
	set := d.Snapshot().ACLs
	out := make([][]auth.ACL, len(filters))
	var all []auth.ACL
	for i, f := range filters {
		out[i] = set.Filter(f)
		all = append(all, out[i]...)
	}
	if len(all) == 0 {
		return out, nil
	}
	if err := d.proposeDecided(Command{DeleteACLs: &ACLDeletion{ACLs: all}}); err != nil {
		return nil, fmt.Errorf("delete %d acls: %w", len(all), err)
	}
	return out, nil
}
