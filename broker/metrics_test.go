package broker

import (
	"testing"

	"github.com/tributary-io/tributary/broker/cluster"
	"github.com/tributary-io/tributary/broker/log"
)

func TestPartitionHealthOf(t *testing.T) {
	brokers := []cluster.Broker{{ID: 1}, {ID: 2}, {ID: 3}}
	part := func(id, leader int32, replicas, isr []int32) cluster.Partition {
		return cluster.Partition{ID: id, Leader: leader, Replicas: replicas, ISR: isr}
	}
	topic := func(name string, configs map[string]string, ps ...cluster.Partition) *cluster.Topic {
		return &cluster.Topic{Name: name, Configs: configs, Partitions: ps}
	}
	all := func(string, int32) bool { return true }
	cases := []struct {
		name   string
		self   int32
		ctrl   int32
		topics []*cluster.Topic
		hosted func(string, int32) bool
		want   partitionHealth
		// brokers replaces the three live brokers when set.
		brokers []cluster.Broker
	}{
		{name: "single node, all healthy", self: 1, ctrl: 1,
			topics: []*cluster.Topic{topic("a", nil, part(0, 1, []int32{1}, []int32{1}), part(1, 1, []int32{1}, []int32{1}))},
			hosted: all, want: partitionHealth{leaders: 2, controller: true}},
		{name: "shrunk ISR counts once per partition led here", self: 1, ctrl: 1,
			topics: []*cluster.Topic{topic("a", nil,
				part(0, 1, []int32{1, 2, 3}, []int32{1}),
				part(1, 2, []int32{2, 1, 3}, []int32{2}), // led elsewhere: not ours to report
				part(2, 1, []int32{1, 2, 3}, []int32{1, 2, 3}))},
			hosted: all, want: partitionHealth{leaders: 2, underReplicated: 1, controller: true}},
		{name: "under min ISR uses the topic override", self: 1, ctrl: 2,
			topics: []*cluster.Topic{
				topic("strict", map[string]string{"min.insync.replicas": "2"}, part(0, 1, []int32{1, 2}, []int32{1})),
				topic("lax", nil, part(0, 1, []int32{1, 2}, []int32{1})),
			},
			hosted: all, want: partitionHealth{leaders: 2, underReplicated: 2, underMinISR: 1}},
		{name: "offline counted by the controller only", self: 1, ctrl: 1,
			topics: []*cluster.Topic{topic("a", nil,
				part(0, -1, []int32{2}, []int32{}),   // no leader
				part(1, 9, []int32{9}, []int32{9}),   // leader not a registered broker
				part(2, 1, []int32{1}, []int32{1}))}, // led here but its log failed to open
			hosted: func(_ string, p int32) bool { return p != 2 }, want: partitionHealth{offline: 3, controller: true}},
		{name: "a fenced leader is not live", self: 1, ctrl: 1,
			topics: []*cluster.Topic{topic("a", nil, part(0, 3, []int32{3, 1}, []int32{3, 1}), part(1, 1, []int32{1, 3}, []int32{1, 3}))},
			hosted: all, want: partitionHealth{offline: 1, leaders: 1, controller: true},
			brokers: []cluster.Broker{{ID: 1}, {ID: 2}, {ID: 3, Fenced: true}}},
		{name: "offline not reported off the controller", self: 2, ctrl: 1,
			topics: []*cluster.Topic{topic("a", nil, part(0, -1, []int32{2}, []int32{}))},
			hosted: all, want: partitionHealth{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			snap := &cluster.Snapshot{ControllerID: c.ctrl, Brokers: brokers, Topics: map[string]*cluster.Topic{}}
			if c.brokers != nil {
				snap.Brokers = c.brokers
			}
			for _, tp := range c.topics {
				snap.Topics[tp.Name] = tp
			}
			if got := partitionHealthOf(snap, c.self, c.ctrl == c.self, log.DefaultConfig(), c.hosted); got != c.want {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestLag(t *testing.T) {
	cases := []struct{ hw, committed, want int64 }{
		{100, 40, 60},
		{100, 100, 0},
		{100, 120, 0}, // committed past the high watermark after a truncation
		{0, 0, 0},
	}
	for _, c := range cases {
		if got := lag(c.hw, c.committed); got != c.want {
			t.Errorf("lag(%d, %d) = %d, want %d", c.hw, c.committed, got, c.want)
		}
	}
}
