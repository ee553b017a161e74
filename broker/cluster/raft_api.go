package cluster

import (
	"errors"
	"fmt"
	"time"
)

// The Raft driver's methods match Local's, so the broker uses either through
// one interface; each runs on the controller (here, or forwarded to it) and
// returns once this node's copy of the metadata shows the change.

// RegisterBroker records this node's advertised address (and unfences it).
func (d *Raft) RegisterBroker(b Broker) error {
	if cur, ok := d.Snapshot().Broker(b.ID); ok && cur == b {
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
	for {
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
