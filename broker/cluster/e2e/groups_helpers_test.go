package e2e

import (
	"context"
	"fmt"
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

// waitRebalancing polls node coord, every 10ms through one connection, until
// it describes groupID as PreparingRebalance or CompletingRebalance, and
// returns that state.
func waitRebalancing(t testing.TB, c *testCluster, coord int32, groupID string) string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.node(coord).kafka))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = []string{groupID}
	last := "nothing"
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		resp, err := cl.SeedBrokers()[0].Request(ctx, req)
		cancel()
		if err != nil {
			last = err.Error()
			continue
		}
		g := resp.(*kmsg.DescribeGroupsResponse).Groups
		if len(g) != 1 || g[0].ErrorCode != 0 {
			last = fmt.Sprintf("%+v", g)
			continue
		}
		last = g[0].State
		if last == "PreparingRebalance" || last == "CompletingRebalance" {
			return last
		}
	}
	t.Fatalf("node %d never described %s as rebalancing within 20s (last: %s)", coord, groupID, last)
	return ""
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
		// kgo's default heartbeat interval (3s): members learn of a rebalance
		// by heartbeat, so a join keeps the group in PreparingRebalance for up
		// to that long, long enough to SIGKILL its coordinator in it.
		kgo.SessionTimeout(10 * time.Second), kgo.HeartbeatInterval(3 * time.Second),
		kgo.RebalanceTimeout(20 * time.Second), kgo.MetadataMinAge(500 * time.Millisecond),
		kgo.OnPartitionsRevoked(changed), kgo.OnPartitionsLost(changed)}
	if instanceID != "" {
		// Static members ride out a coordinator failover, which takes the
		// controller's election, fencing and the group's reload and can pass
		// 10s on a loaded machine: a longer session is what static
		// membership is for (the later option wins).
		opts = append(opts, kgo.InstanceID(instanceID), kgo.SessionTimeout(30*time.Second))
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

// waitOffsetsBalanced waits until every live node reports each partition of
// __consumer_offsets with a full ISR and led by its preferred (first) replica:
// a restarted node is back in every ISR and the controller's periodic
// preferred election has moved its leaderships back, so no coordinator moves
// under the next step.
func waitOffsetsBalanced(t testing.TB, c *testCluster) {
	t.Helper()
	c.waitAgreed(90*time.Second, group.OffsetsTopic, group.OffsetsTopic+" with full ISRs and preferred leaders",
		func(st map[int32]partitionState) bool {
			if !fullISRs(len(st), 3)(st) {
				return false
			}
			for _, p := range st {
				if len(p.replicas) == 0 || p.leader != p.replicas[0] {
					return false
				}
			}
			return true
		})
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
