package cluster

import (
	"fmt"
	"slices"
	"strconv"
)

// The controller's decisions, as pure functions from a snapshot to the
// partition changes to propose. The raft driver (raft_controller.go) calls them
// on the raft leader, under its proposal lock, and proposes their result; the
// state machine then only checks and records, as for every other command.

// uncleanAllowed reports unclean.leader.election.enable for a topic (default false).
func uncleanAllowed(t *Topic) bool {
	v, err := strconv.ParseBool(t.Configs["unclean.leader.election.enable"])
	return err == nil && v
}

// electLeader picks the partition's new leader among live replicas: the first
// ISR member in replica order (so the preferred replica wins when it can), else,
// when the topic allows unclean election, the first live replica, whose log
// then defines the partition (ISR = it alone). ok is false when no replica can lead.
func electLeader(s *Snapshot, t *Topic, p Partition, live func(int32) bool) (Partition, bool) {
	for _, r := range p.Replicas {
		if slices.Contains(p.ISR, r) && live(r) {
			p.Leader = r
			return p, true
		}
	}
	if uncleanAllowed(t) {
		for _, r := range p.Replicas {
			if live(r) {
				p.Leader = r
				p.ISR = []int32{r}
				return p, true
			}
		}
	}
	return p, false
}

// changeOf wraps a partition's new state, bumping the leader epoch when the
// leader changed.
func changeOf(t *Topic, old, next Partition) PartitionChange {
	if next.Leader != old.Leader {
		next.LeaderEpoch = old.LeaderEpoch + 1
	}
	return PartitionChange{Topic: t.Name, TopicID: t.ID, State: next}
}

// fenceChanges moves everything off broker: it leaves every ISR (unless it is
// the last member, which KRaft keeps so the partition's last known in-sync
// replica is remembered), and the partitions it led get new leaders, or none.
func fenceChanges(s *Snapshot, broker int32) []PartitionChange {
	live := func(id int32) bool { return id != broker && s.LiveBroker(id) }
	var out []PartitionChange
	for _, name := range s.TopicNames() {
		t := s.Topics[name]
		for _, p := range t.Partitions {
			if p.Leader != broker && !slices.Contains(p.ISR, broker) {
				continue
			}
			next := clonePartitions([]Partition{p})[0]
			if len(next.ISR) > 1 {
				next.ISR = slices.DeleteFunc(next.ISR, func(r int32) bool { return r == broker })
			}
			if p.Leader == broker || (p.Leader != NoLeader && !live(p.Leader)) {
				if elected, ok := electLeader(s, t, next, live); ok {
					next = elected
				} else {
					next.Leader = NoLeader
				}
			}
			if next.Leader == p.Leader && slices.Equal(next.ISR, p.ISR) {
				continue
			}
			out = append(out, changeOf(t, p, next))
		}
	}
	return out
}

// onlineChanges elects leaders for offline partitions now that more brokers
// are live (a fenced broker came back).
func onlineChanges(s *Snapshot) []PartitionChange {
	var out []PartitionChange
	for _, name := range s.TopicNames() {
		t := s.Topics[name]
		for _, p := range t.Partitions {
			if p.Leader != NoLeader {
				continue
			}
			if next, ok := electLeader(s, t, clonePartitions([]Partition{p})[0], s.LiveBroker); ok {
				out = append(out, changeOf(t, p, next))
			}
		}
	}
	return out
}

// preferredChanges moves leadership back to each partition's preferred replica
// (the first one) where it is live and in sync. refs limits it to some
// partitions; nil means all.
func preferredChanges(s *Snapshot, refs []PartitionRef) ([]PartitionChange, []string) {
	var out []PartitionChange
	consider := func(t *Topic, p Partition) string {
		pref := p.Replicas[0]
		switch {
		case p.Leader == pref:
			return "already the preferred leader"
		case !s.LiveBroker(pref) || !slices.Contains(p.ISR, pref):
			return "preferred leader not available"
		}
		next := clonePartitions([]Partition{p})[0]
		next.Leader = pref
		out = append(out, changeOf(t, p, next))
		return ""
	}
	if refs == nil {
		for _, name := range s.TopicNames() {
			t := s.Topics[name]
			for _, p := range t.Partitions {
				consider(t, p)
			}
		}
		return out, nil
	}
	results := make([]string, len(refs))
	for i, ref := range refs {
		t, ok := s.Topics[ref.Topic]
		if !ok {
			results[i] = "unknown topic"
			continue
		}
		p, ok := t.Partition(ref.Partition)
		if !ok {
			results[i] = "unknown partition"
			continue
		}
		results[i] = consider(t, p)
	}
	return out, results
}

// isrChange checks a leader's ISR request: it must still lead at that epoch,
// keep itself in the ISR, name only replicas, and add only live brokers.
func isrChange(s *Snapshot, c ISRChange) (PartitionChange, error) {
	t, ok := s.Topics[c.Topic]
	if !ok {
		return PartitionChange{}, fmt.Errorf("%w: %s", ErrUnknownTopic, c.Topic)
	}
	p, ok := t.Partition(c.Partition)
	if !ok {
		return PartitionChange{}, fmt.Errorf("%w: %s-%d", ErrUnknownTopic, c.Topic, c.Partition)
	}
	if p.Leader != c.Leader || p.LeaderEpoch != c.LeaderEpoch {
		return PartitionChange{}, fmt.Errorf("%w: %s-%d is led by %d at epoch %d, not %d at %d",
			ErrStaleLeader, c.Topic, c.Partition, p.Leader, p.LeaderEpoch, c.Leader, c.LeaderEpoch)
	}
	if !slices.Contains(c.ISR, c.Leader) {
		return PartitionChange{}, fmt.Errorf("%w: the leader must stay in the ISR", ErrInvalidCommand)
	}
	for _, r := range c.ISR {
		if !slices.Contains(p.Replicas, r) {
			return PartitionChange{}, fmt.Errorf("%w: %d is not a replica of %s-%d", ErrInvalidCommand, r, c.Topic, c.Partition)
		}
		if !slices.Contains(p.ISR, r) && !s.LiveBroker(r) {
			return PartitionChange{}, fmt.Errorf("%w: broker %d is fenced", ErrInvalidCommand, r)
		}
	}
	next := clonePartitions([]Partition{p})[0]
	next.ISR = slices.Clone(c.ISR)
	return PartitionChange{Topic: t.Name, TopicID: t.ID, State: next}, nil
}

// reassignChange starts a reassignment: the replicas become the old ones plus
// the target's new ones, so new replicas copy the data while the old ones still
// serve; completeReassignments finishes it.
func reassignChange(s *Snapshot, r Reassignment) (PartitionChange, error) {
	t, ok := s.Topics[r.Topic]
	if !ok {
		return PartitionChange{}, fmt.Errorf("%w: %s", ErrUnknownTopic, r.Topic)
	}
	p, ok := t.Partition(r.Partition)
	if !ok {
		return PartitionChange{}, fmt.Errorf("%w: %s-%d", ErrUnknownTopic, r.Topic, r.Partition)
	}
	if len(r.Replicas) == 0 {
		return PartitionChange{}, fmt.Errorf("%w: no target replicas", ErrInvalidReplicaAssignment)
	}
	next := clonePartitions([]Partition{p})[0]
	base := p.Replicas
	if p.Target != nil {
		base = p.Target // a new target replaces one in progress
	}
	next.Replicas = slices.Clone(r.Replicas)
	for _, old := range base {
		if !slices.Contains(next.Replicas, old) {
			next.Replicas = append(next.Replicas, old)
		}
	}
	for _, old := range p.Replicas {
		if !slices.Contains(next.Replicas, old) && slices.Contains(p.ISR, old) {
			next.ISR = slices.DeleteFunc(next.ISR, func(x int32) bool { return x == old })
		}
	}
	next.Target = slices.Clone(r.Replicas)
	if len(next.ISR) == 0 || (next.Leader != NoLeader && !slices.Contains(next.ISR, next.Leader)) {
		return PartitionChange{}, fmt.Errorf("%w: the reassignment would drop the leader", ErrInvalidReplicaAssignment)
	}
	return PartitionChange{Topic: t.Name, TopicID: t.ID, State: next}, nil
}

// completeReassignments finishes the reassignments whose target replicas are
// all in sync: replicas become the target, the ISR drops the others, and the
// leader moves to the target's first in-sync live replica if it is leaving.
func completeReassignments(s *Snapshot) []PartitionChange {
	var out []PartitionChange
	for _, name := range s.TopicNames() {
		t := s.Topics[name]
		for _, p := range t.Partitions {
			if p.Target == nil {
				continue
			}
			done := true
			for _, r := range p.Target {
				done = done && slices.Contains(p.ISR, r)
			}
			if !done {
				continue
			}
			next := clonePartitions([]Partition{p})[0]
			next.Replicas = slices.Clone(p.Target)
			next.Target = nil
			next.ISR = slices.DeleteFunc(next.ISR, func(r int32) bool { return !slices.Contains(p.Target, r) })
			if !slices.Contains(next.Replicas, next.Leader) {
				elected, ok := electLeader(s, t, next, s.LiveBroker)
				if !ok {
					continue
				}
				next = elected
			}
			out = append(out, changeOf(t, p, next))
		}
	}
	return out
}
