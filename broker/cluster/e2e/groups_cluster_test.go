package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/group"
)

// groupPartitions is the partition count of the topics the group tests consume.
const groupPartitions = 6

// groupCoordinator is the node every live node names as group's coordinator,
// once they agree on a live one.
func groupCoordinator(t testing.TB, c *testCluster, groupID string) int32 {
	t.Helper()
	var coord int32
	waitFor(t, 60*time.Second, "every live node naming the same live coordinator of "+groupID, func() bool {
		coord = -1
		for _, n := range c.liveNodes() {
			req := kmsg.NewPtrFindCoordinatorRequest()
			req.CoordinatorKey = groupID
			req.CoordinatorKeys = []string{groupID}
			resp, err := askNode(n, req)
			if err != nil {
				return false
			}
			fc := resp.(*kmsg.FindCoordinatorResponse)
			id, code := fc.NodeID, fc.ErrorCode
			if len(fc.Coordinators) > 0 {
				id, code = fc.Coordinators[0].NodeID, fc.Coordinators[0].ErrorCode
			}
			if code != 0 || (coord != -1 && id != coord) {
				return false
			}
			coord = id
		}
		return coord > 0 && c.isLive(coord)
	})
	return coord
}

// describedGroup is a group as its coordinator describes it.
type describedGroup struct {
	state string
	// members by member id: instance id (or "") and assigned partitions.
	instance map[string]string
	assigned map[string][]int32
}

// describeGroup asks node coord alone to describe groupID.
func describeGroup(c *testCluster, coord int32, groupID string) (describedGroup, error) {
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = []string{groupID}
	resp, err := askNode(c.node(coord), req)
	if err != nil {
		return describedGroup{}, err
	}
	groups := resp.(*kmsg.DescribeGroupsResponse).Groups
	if len(groups) != 1 || groups[0].ErrorCode != 0 {
		return describedGroup{}, fmt.Errorf("describe %s on node %d: %+v", groupID, coord, groups)
	}
	g := groups[0]
	out := describedGroup{state: g.State, instance: map[string]string{}, assigned: map[string][]int32{}}
	for _, m := range g.Members {
		var a kmsg.ConsumerMemberAssignment
		if len(m.MemberAssignment) > 0 {
			if err := a.ReadFrom(m.MemberAssignment); err != nil {
				return describedGroup{}, fmt.Errorf("member %s assignment: %w", m.MemberID, err)
			}
		}
		var ps []int32
		for _, t := range a.Topics {
			ps = append(ps, t.Partitions...)
		}
		slices.Sort(ps)
		out.assigned[m.MemberID] = ps
		if m.InstanceID != nil {
			out.instance[m.MemberID] = *m.InstanceID
		} else {
			out.instance[m.MemberID] = ""
		}
	}
	return out, nil
}

// complete reports whether the group is Stable with members members and every
// partition of the topic assigned to exactly one of them.
func (d describedGroup) complete(members int) bool {
	if d.state != "Stable" || len(d.assigned) != members {
		return false
	}
	var all []int32
	for _, ps := range d.assigned {
		all = append(all, ps...)
	}
	slices.Sort(all)
	return slices.Equal(all, []int32{0, 1, 2, 3, 4, 5})
}

// waitComplete polls groupID's coordinator until the group is complete with
// members members, and returns what it described.
func waitComplete(t testing.TB, c *testCluster, groupID string, members int, limit time.Duration) (int32, describedGroup) {
	t.Helper()
	var d describedGroup
	var coord int32
	waitFor(t, limit, fmt.Sprintf("group %s Stable with %d members owning every partition once", groupID, members), func() bool {
		coord = groupCoordinator(t, c, groupID)
		var err error
		d, err = describeGroup(c, coord, groupID)
		return err == nil && d.complete(members)
	})
	return coord, d
}

// consumed counts every record value a group's members processed.
type consumed struct {
	mu     sync.Mutex
	counts map[string]int
}

func (s *consumed) add(v string) {
	s.mu.Lock()
	s.counts[v]++
	s.mu.Unlock()
}

// missing is how many of want were never processed, and the first of them.
func (s *consumed) missing(want []string) (int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, first := 0, ""
	for _, v := range want {
		if s.counts[v] == 0 {
			if n == 0 {
				first = v
			}
			n++
		}
	}
	return n, first
}

// groupMember is one franz-go consumer of a group: it processes what it polls,
// commits after processing (at least once, no gap), and counts the
// assignment changes it is told about.
type groupMember struct {
	name string
	cl   *kgo.Client
	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	changes int // revoked or lost callbacks
}

// startMember joins groupID with balancer, consuming topic from the start.
// instanceID, when set, makes it a static member.
func startMember(t testing.TB, c *testCluster, name, groupID, topic, instanceID string, balancer kgo.GroupBalancer, sink *consumed) *groupMember {
	t.Helper()
	m := &groupMember{name: name, stop: make(chan struct{}), done: make(chan struct{})}
	changed := func(context.Context, *kgo.Client, map[string][]int32) {
		m.mu.Lock()
		m.changes++
		m.mu.Unlock()
	}
	opts := []kgo.Opt{kgo.SeedBrokers(c.seeds()...), kgo.ClientID(name),
		kgo.ConsumerGroup(groupID), kgo.ConsumeTopics(topic), kgo.Balancers(balancer),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll(),
		kgo.SessionTimeout(10 * time.Second), kgo.HeartbeatInterval(500 * time.Millisecond),
		kgo.RebalanceTimeout(20 * time.Second), kgo.MetadataMinAge(500 * time.Millisecond),
		kgo.OnPartitionsRevoked(changed), kgo.OnPartitionsLost(changed)}
	if instanceID != "" {
		opts = append(opts, kgo.InstanceID(instanceID))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	m.cl = cl
	go func() {
		defer close(m.done)
		for {
			select {
			case <-m.stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			fs := cl.PollRecords(ctx, 1000)
			cancel()
			fs.EachRecord(func(r *kgo.Record) { sink.add(string(r.Value)) })
			if fs.NumRecords() > 0 {
				// A commit that fails during a failover is retried with the next
				// poll's; what it covered may be processed twice, never skipped.
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_ = cl.CommitUncommittedOffsets(ctx)
				cancel()
			}
			cl.AllowRebalance()
		}
	}()
	t.Cleanup(m.close)
	return m
}

// assignmentChanges is how many revoke or lose callbacks the member has seen.
func (m *groupMember) assignmentChanges() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.changes
}

// close stops the poll loop and leaves the group. Safe to call twice.
func (m *groupMember) close() {
	select {
	case <-m.stop:
		return
	default:
	}
	close(m.stop)
	<-m.done
	m.cl.Close()
}

// committedOffsets is groupID's committed offsets of topic, asked through a
// fresh client of the live nodes (it finds the current coordinator).
func committedOffsets(t testing.TB, c *testCluster, groupID, topic string) (map[int32]int64, error) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.liveSeeds()...))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(cl).FetchOffsets(ctx, groupID)
	if err != nil {
		return nil, err
	}
	if err := resp.Error(); err != nil {
		return nil, err
	}
	out := map[int32]int64{}
	resp.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic {
			out[o.Partition] = o.At
		}
	})
	return out, nil
}

// createGroupTopic creates a 6-partition RF=3 topic with min.insync.replicas=2
// and waits until every live node reports full ISRs.
func createGroupTopic(t testing.TB, c *testCluster, topic string) {
	t.Helper()
	adm := kadm.NewClient(c.client())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := adm.CreateTopic(ctx, groupPartitions, 3, map[string]*string{"min.insync.replicas": kadm.StringPtr("2")}, topic)
	if err != nil || resp.Err != nil {
		t.Fatalf("create topic %s: %v %v", topic, err, resp.Err)
	}
	c.waitAgreed(60*time.Second, topic, "full ISRs of "+topic, fullISRs(groupPartitions, 3))
}

// checkOffsetsTopicRF3 checks every partition of __consumer_offsets has three
// replicas, and waits until their ISRs are full.
func checkOffsetsTopicRF3(t testing.TB, c *testCluster) {
	t.Helper()
	var md *kmsg.MetadataResponse
	waitFor(t, 30*time.Second, group.OffsetsTopic+" in the metadata", func() bool {
		var err error
		md, err = nodeMetadata(c.nodes[0], group.OffsetsTopic)
		return err == nil && len(md.Topics) == 1 && md.Topics[0].ErrorCode == 0
	})
	parts := md.Topics[0].Partitions
	for _, p := range parts {
		if len(p.Replicas) != 3 {
			t.Fatalf("%s-%d has replicas %v, want three on a three-node cluster", group.OffsetsTopic, p.Partition, p.Replicas)
		}
	}
	c.waitAgreed(60*time.Second, group.OffsetsTopic, "full ISRs of "+group.OffsetsTopic, fullISRs(len(parts), 3))
}

// offsetsPartitionRejoined waits until node id is back in the ISR of
// groupID's __consumer_offsets partition, as every live node reports it.
func offsetsPartitionRejoined(t testing.TB, c *testCluster, groupID string, id int32) {
	t.Helper()
	p := group.PartitionFor(groupID, 50)
	c.waitAgreed(90*time.Second, group.OffsetsTopic, fmt.Sprintf("node %d back in the ISR of %s-%d", id, group.OffsetsTopic, p),
		func(st map[int32]partitionState) bool { return slices.Contains(st[p].isr, id) })
}

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
			var seen string
			waitFor(t, 20*time.Second, "the group rebalancing for the fourth member", func() bool {
				d, err := describeGroup(c, victim, groupID)
				seen = d.state
				return err == nil && (d.state == "PreparingRebalance" || d.state == "CompletingRebalance")
			})
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
			offsetsPartitionRejoined(t, c, groupID, victim)
		})
	}
}

// values is every acknowledged record value; the test fails if any produce
// failed.
func (a *acked) values(t testing.TB) []string {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.errs) > 0 {
		t.Fatalf("%d produce errors, first %v", len(a.errs), a.errs[0])
	}
	var out []string
	for _, rs := range a.recs {
		for _, r := range rs {
			out = append(out, r.value)
		}
	}
	return out
}

// total is how many records were processed, duplicates included.
func (s *consumed) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.counts {
		n += c
	}
	return n
}

// produceEach writes n records with the given prefix round-robin over the
// group topics' partitions, synchronously (acks=all), and returns their values.
func produceEach(t testing.TB, cl *kgo.Client, topic, prefix string, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var recs []*kgo.Record
	var out []string
	for i := range n {
		v := fmt.Sprintf("%s-%06d", prefix, i)
		recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(i % groupPartitions), Value: []byte(v)})
		out = append(out, v)
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce %s records: %v", prefix, err)
	}
	return out
}

// waitProcessedAndCommitted waits until the group processed every one of want
// and committed offset at on every partition.
func waitProcessedAndCommitted(t testing.TB, c *testCluster, groupID, topic string, sink *consumed, want []string, at int64) {
	t.Helper()
	waitFor(t, 60*time.Second, fmt.Sprintf("%d records processed and offset %d committed on every partition", len(want), at), func() bool {
		if n, _ := sink.missing(want); n != 0 {
			return false
		}
		offs, err := committedOffsets(t, c, groupID, topic)
		if err != nil || len(offs) != groupPartitions {
			return false
		}
		for _, o := range offs {
			if o != at {
				return false
			}
		}
		return true
	})
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
	coord := groupCoordinator(t, c, groupID)
	after := produceEach(t, prod, topic, "after", perRound)
	waitProcessedAndCommitted(t, c, groupID, topic, done, after, 2*perRound/groupPartitions)
	now, err := describeGroup(c, coord, groupID)
	if err != nil {
		t.Fatal(err)
	}
	if !now.complete(3) || !maps.Equal(now.instance, was.instance) || !maps.EqualFunc(now.assigned, was.assigned, slices.Equal) {
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
	offsetsPartitionRejoined(t, c, groupID, victim)
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
		c.launch(n, nil)
	}
	for _, n := range c.nodes {
		c.waitReady(n)
	}
	check(round, "after every node was SIGKILLed at once and restarted")
	t.Logf("%d groups' offsets read back after %d rolling SIGKILLs and a whole-cluster kill", len(groups), len(c.nodes))
}
