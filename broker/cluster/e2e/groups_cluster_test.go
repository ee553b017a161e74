package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/broker/group"
)

// TestClusterGroupCoordinatorKilledMidRebalance: three consumers of a group
// (cooperative-sticky, then range) share a 6-partition RF=3 topic under an
// acks=all producer and commit what they processed; a fourth joins, and the
// coordinator's node is SIGKILLed while the group rebalances. The members find
// the new coordinator, the group becomes Stable with every partition owned
// once, offsets committed before the kill are still there, every acknowledged
// record is processed at least once, and the killed node rejoins.
func TestClusterGroupCoordinatorKilledMidRebalance(t *testing.T) {
	c := startCluster(t)
	checkOffsetsTopicRF3(t, c)
	for _, tc := range []struct {
		name     string
		balancer kgo.GroupBalancer
	}{
		{"cooperative-sticky", kgo.CooperativeStickyBalancer()},
		{"range", kgo.RangeBalancer()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topic, groupID := "mid-"+tc.name, "mid-rebalance-"+tc.name
			createGroupTopic(t, c, topic)
			prod := c.client(kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RequiredAcks(kgo.AllISRAcks()),
				kgo.ProduceRequestTimeout(10*time.Second), kgo.RetryTimeout(2*time.Minute))
			stop := make(chan struct{})
			a := produceNumbered(t, prod, topic, groupPartitions, stop)
			sink := &consumed{counts: map[string]int{}}
			var members []*groupMember
			for i := range 3 {
				members = append(members, startMember(t, c, fmt.Sprintf("%s-%d", tc.name, i), groupID, topic, "", tc.balancer, sink))
			}
			waitComplete(t, c, groupID, 3, 60*time.Second)
			var before map[int32]int64
			waitFor(t, 30*time.Second, "a commit on every partition", func() bool {
				var err error
				before, err = committedOffsets(t, c, groupID, topic)
				return err == nil && len(before) == groupPartitions && !slices.Contains(slices.Collect(maps.Values(before)), 0)
			})

			victim := groupCoordinator(t, c, groupID)
			members = append(members, startMember(t, c, tc.name+"-3", groupID, topic, "", tc.balancer, sink))
			seen := waitRebalancing(t, c, victim, groupID)
			c.kill(c.node(victim))
			killedAt, acksAtKill := time.Now(), a.count()

			coord, d := waitComplete(t, c, groupID, 4, 90*time.Second)
			t.Logf("coordinator node %d SIGKILLed in %s; node %d coordinates, group Stable with 4 members %s later: %v",
				victim, seen, coord, time.Since(killedAt).Round(time.Millisecond), slices.Collect(maps.Values(d.assigned)))
			var after map[int32]int64
			var fetchErr error
			waitFor(t, 30*time.Second, "committed offsets from the new coordinator", func() bool {
				after, fetchErr = committedOffsets(t, c, groupID, topic)
				if fetchErr != nil {
					t.Logf("fetch offsets: %v", fetchErr)
				}
				return fetchErr == nil
			})
			for p, off := range before {
				if after[p] < off {
					t.Fatalf("partition %d: committed offset %d before the kill, %d on the new coordinator", p, off, after[p])
				}
			}
			waitFor(t, 60*time.Second, "acks after the kill", func() bool { return a.count() > acksAtKill+600 })
			close(stop)
			if err := prod.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			want := a.values(t)
			waitFor(t, 60*time.Second, "every acknowledged record processed", func() bool {
				n, _ := sink.missing(want)
				return n == 0
			})
			for _, m := range members {
				m.close()
			}
			t.Logf("%d acknowledged records, all processed by the group (%d processings)", len(want), sink.total())

			c.restart(c.node(victim))
			waitOffsetsBalanced(t, c)
		})
	}
}

// TestClusterStaticMembersKeepAssignmentOnFailover: three static members
// (group.instance.id) own a topic's partitions; the coordinator's node is
// SIGKILLed. The new coordinator loads the group from __consumer_offsets and
// the members carry on with the same member ids and partitions: no rebalance
// (no member sees a revoke or a loss), and their commits reach the new
// coordinator.
func TestClusterStaticMembersKeepAssignmentOnFailover(t *testing.T) {
	c := startCluster(t)
	topic, groupID := "static", "static-members"
	createGroupTopic(t, c, topic)
	prod := c.client(kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProduceRequestTimeout(10*time.Second), kgo.RetryTimeout(2*time.Minute))
	const perRound = 600
	done := &consumed{counts: map[string]int{}}
	before := produceEach(t, prod, topic, "before", perRound)
	var members []*groupMember
	for i := range 3 {
		members = append(members, startMember(t, c, fmt.Sprintf("static-%d", i), groupID, topic,
			fmt.Sprintf("instance-%d", i), kgo.CooperativeStickyBalancer(), done))
	}
	_, was := waitComplete(t, c, groupID, 3, 60*time.Second)
	waitProcessedAndCommitted(t, c, groupID, topic, done, before, perRound/groupPartitions)
	changes := make([]int, len(members))
	for i, m := range members {
		changes[i] = m.assignmentChanges()
	}

	victim := groupCoordinator(t, c, groupID)
	c.kill(c.node(victim))
	killedAt := time.Now()
	after := produceEach(t, prod, topic, "after", perRound)
	waitProcessedAndCommitted(t, c, groupID, topic, done, after, 2*perRound/groupPartitions)
	coord, now := waitComplete(t, c, groupID, 3, 30*time.Second)
	if !maps.Equal(now.instance, was.instance) || !maps.EqualFunc(now.assigned, was.assigned, slices.Equal) {
		t.Fatalf("after the failover to node %d the group is %s with %v (instances %v), before it was %v (instances %v)",
			coord, now.state, now.assigned, now.instance, was.assigned, was.instance)
	}
	for i, m := range members {
		if got := m.assignmentChanges(); got != changes[i] {
			t.Errorf("member %s saw %d revokes or losses across the failover", m.name, got-changes[i])
		}
	}
	t.Logf("coordinator node %d SIGKILLed; node %d took over and the static members kept %v; %s from kill to all commits there",
		victim, coord, now.assigned, time.Since(killedAt).Round(time.Millisecond))
	c.restart(c.node(victim))
	waitOffsetsBalanced(t, c)
}

// TestClusterCommittedOffsetsSurviveRollingKills: offsets committed for groups
// spread over the __consumer_offsets partitions survive SIGKILLing every node
// in turn, and a restart of the whole cluster; offsets committed while a node
// is down survive too. Each read goes through kadm FetchOffsets from a fresh
// client.
func TestClusterCommittedOffsetsSurviveRollingKills(t *testing.T) {
	c := startCluster(t)
	checkOffsetsTopicRF3(t, c)
	const topic = "rolling"
	createGroupTopic(t, c, topic)
	var groups []string
	for i := range 6 {
		groups = append(groups, fmt.Sprintf("rolling-%d", i))
	}
	want := func(round, g int, p int32) int64 { return int64(round*1000 + g*10 + int(p)) }
	commit := func(round int) {
		t.Helper()
		for g, groupID := range groups {
			offs := kadm.Offsets{}
			for p := range int32(groupPartitions) {
				offs.Add(kadm.Offset{Topic: topic, Partition: p, At: want(round, g, p), LeaderEpoch: -1})
			}
			waitFor(t, 30*time.Second, fmt.Sprintf("round %d commit of %s", round, groupID), func() bool {
				cl, err := kgo.NewClient(kgo.SeedBrokers(c.liveSeeds()...))
				if err != nil {
					return false
				}
				defer cl.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				resp, err := kadm.NewClient(cl).CommitOffsets(ctx, groupID, offs)
				return err == nil && resp.Error() == nil
			})
		}
	}
	check := func(round int, when string) {
		t.Helper()
		for g, groupID := range groups {
			var got map[int32]int64
			waitFor(t, 30*time.Second, fmt.Sprintf("%s's offsets %s", groupID, when), func() bool {
				var err error
				got, err = committedOffsets(t, c, groupID, topic)
				return err == nil
			})
			for p := range int32(groupPartitions) {
				if got[p] != want(round, g, p) {
					t.Fatalf("%s: %s-%d committed at %d in round %d, read back %d %s",
						groupID, topic, p, want(round, g, p), round, got[p], when)
				}
			}
		}
	}
	notLeading := func(id int32) func(map[int32]partitionState) bool {
		return func(st map[int32]partitionState) bool {
			for _, p := range st {
				if p.leader == id || p.leader <= 0 {
					return false
				}
			}
			return true
		}
	}
	round := 0
	commit(round)
	for _, n := range c.nodes {
		c.waitAgreed(90*time.Second, group.OffsetsTopic, "full ISRs", fullISRs(50, 3))
		c.kill(n)
		c.waitAgreed(60*time.Second, group.OffsetsTopic, fmt.Sprintf("no partition led by killed node %d", n.id), notLeading(n.id))
		check(round, fmt.Sprintf("with node %d killed", n.id))
		round++
		commit(round)
		check(round, fmt.Sprintf("committed while node %d was down", n.id))
		c.restart(n)
	}
	c.waitAgreed(90*time.Second, group.OffsetsTopic, "full ISRs", fullISRs(50, 3))
	killAll(c, 1, 2, 3)
	for _, n := range c.nodes {
		c.launch(n)
	}
	for _, n := range c.nodes {
		c.waitReady(n)
	}
	check(round, "after every node was SIGKILLed at once and restarted")
	t.Logf("%d groups' offsets read back after %d rolling SIGKILLs and a whole-cluster kill", len(groups), len(c.nodes))
}
