package kafka_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestAdminCreateTopics(t *testing.T) {
	e := startAdminEnv(t, "")
	e.createTopic("taken", 1, nil)
	e.createTopic("dotted.name", 1, nil)
	tests := []struct {
		name       string
		topic      string
		partitions int32
		rf         int16
		configs    map[string]*string
		validate   bool
		wantErr    error
		wantParts  int32 // partitions in the answer and, unless validate-only, in Metadata
	}{
		{name: "plain", topic: "orders", partitions: 3, rf: 1, wantParts: 3},
		{name: "broker defaults", topic: "defaults", partitions: -1, rf: -1, wantParts: 2},
		{name: "with configs", topic: "configured", partitions: 1, rf: 1, wantParts: 1,
			configs: map[string]*string{"retention.ms": strp("60000"), "cleanup.policy": strp("compact"), "min.insync.replicas": strp("1")}},
		{name: "validate only", topic: "dry-run", partitions: 4, rf: 1, validate: true, wantParts: 4},
		{name: "validate only catches bad config", topic: "dry-bad", partitions: 1, rf: 1, validate: true,
			configs: map[string]*string{"segment.bytes": strp("1")}, wantErr: kerr.InvalidConfig},
		{name: "duplicate", topic: "taken", partitions: 1, rf: 1, wantErr: kerr.TopicAlreadyExists},
		{name: "space in name", topic: "bad name", partitions: 1, rf: 1, wantErr: kerr.InvalidTopicException},
		{name: "dot", topic: ".", partitions: 1, rf: 1, wantErr: kerr.InvalidTopicException},
		{name: "too long", topic: strings.Repeat("x", 250), partitions: 1, rf: 1, wantErr: kerr.InvalidTopicException},
		{name: "collides after dot to underscore", topic: "dotted_name", partitions: 1, rf: 1, wantErr: kerr.InvalidTopicException},
		{name: "unknown config", topic: "c1", partitions: 1, rf: 1, configs: map[string]*string{"retention.mss": strp("1")}, wantErr: kerr.InvalidConfig},
		{name: "bad config value", topic: "c2", partitions: 1, rf: 1, configs: map[string]*string{"retention.ms": strp("soon")}, wantErr: kerr.InvalidConfig},
		{name: "bad cleanup policy", topic: "c3", partitions: 1, rf: 1, configs: map[string]*string{"cleanup.policy": strp("never")}, wantErr: kerr.InvalidConfig},
		{name: "null config value", topic: "c4", partitions: 1, rf: 1, configs: map[string]*string{"retention.ms": nil}, wantErr: kerr.InvalidConfig},
		{name: "zero partitions", topic: "p0", partitions: 0, rf: 1, wantErr: kerr.InvalidPartitions},
		{name: "rf above brokers", topic: "rf3", partitions: 1, rf: 3, wantErr: kerr.InvalidReplicationFactor},
		{name: "rf zero", topic: "rf0", partitions: 1, rf: 0, wantErr: kerr.InvalidReplicationFactor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			create := e.adm.CreateTopics
			if tt.validate {
				create = e.adm.ValidateCreateTopics
			}
			resps, err := create(ctx, tt.partitions, tt.rf, tt.configs, tt.topic)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := resps.On(tt.topic, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !errIs(resp.Err, tt.wantErr) {
				t.Fatalf("err = %v (%s), want %v", resp.Err, resp.ErrMessage, tt.wantErr)
			}
			if tt.wantErr != nil {
				if resp.ErrMessage == "" {
					t.Error("an error without a message")
				}
				if _, ok := e.topics()[tt.topic]; ok && tt.topic != "taken" {
					t.Fatalf("failed create left topic %s behind", tt.topic)
				}
				return
			}
			if resp.NumPartitions != tt.wantParts || resp.ReplicationFactor != 1 {
				t.Fatalf("answer: %d partitions rf %d, want %d rf 1", resp.NumPartitions, resp.ReplicationFactor, tt.wantParts)
			}
			for name, v := range tt.configs {
				c, ok := resp.Configs[name]
				if !ok || c.Value == nil || *c.Value != *v || c.Source != kmsg.ConfigSourceDynamicTopicConfig {
					t.Errorf("answered config %s = %+v, want %s from the topic", name, c, *v)
				}
			}
			td, exists := e.topics()[tt.topic]
			if tt.validate {
				if exists {
					t.Fatal("validate-only created the topic")
				}
				return
			}
			if !exists {
				t.Fatal("topic missing from metadata")
			}
			// Topic ids are kept: Metadata reports the id CreateTopics returned.
			if resp.ID == (kadm.TopicID{}) || td.ID != resp.ID {
				t.Fatalf("metadata id %v, created id %v", td.ID, resp.ID)
			}
			if int32(len(td.Partitions)) != tt.wantParts {
				t.Fatalf("metadata: %d partitions, want %d", len(td.Partitions), tt.wantParts)
			}
		})
	}
}

// TestAdminCreateTopicsRaw covers what kadm cannot send: manual assignments, a
// topic named twice, and replica lists naming unknown brokers.
func TestAdminCreateTopicsRaw(t *testing.T) {
	e := startAdminEnv(t, "")
	assign := func(lists ...[]int32) []kmsg.CreateTopicsRequestTopicReplicaAssignment {
		var out []kmsg.CreateTopicsRequestTopicReplicaAssignment
		for i, l := range lists {
			a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
			a.Partition, a.Replicas = int32(len(lists)-1-i), l // out of order on purpose
			out = append(out, a)
		}
		return out
	}
	topic := func(name string, p int32, rf int16, a []kmsg.CreateTopicsRequestTopicReplicaAssignment) kmsg.CreateTopicsRequestTopic {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor, rt.ReplicaAssignment = name, p, rf, a
		return rt
	}
	gap := assign([]int32{1}, []int32{1})
	gap[0].Partition = 5
	tests := []struct {
		name   string
		topics []kmsg.CreateTopicsRequestTopic
		want   map[string]error
	}{
		{"manual assignment", []kmsg.CreateTopicsRequestTopic{topic("manual", -1, -1, assign([]int32{1}, []int32{1}, []int32{1}))},
			map[string]error{"manual": nil}},
		{"unknown broker", []kmsg.CreateTopicsRequestTopic{topic("nobroker", -1, -1, assign([]int32{7}))},
			map[string]error{"nobroker": kerr.InvalidReplicaAssignment}},
		{"repeated broker", []kmsg.CreateTopicsRequestTopic{topic("twice", -1, -1, assign([]int32{1, 1}))},
			map[string]error{"twice": kerr.InvalidReplicaAssignment}},
		{"gap in partitions", []kmsg.CreateTopicsRequestTopic{topic("gap", -1, -1, gap)},
			map[string]error{"gap": kerr.InvalidReplicaAssignment}},
		{"assignment with counts", []kmsg.CreateTopicsRequestTopic{topic("both", 1, 1, assign([]int32{1}))},
			map[string]error{"both": kerr.InvalidRequest}},
		{"named twice", []kmsg.CreateTopicsRequestTopic{topic("dup", 1, 1, nil), topic("dup", 1, 1, nil), topic("single", 1, 1, nil)},
			map[string]error{"dup": kerr.InvalidRequest, "single": nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := kmsg.NewPtrCreateTopicsRequest()
			req.Topics = tt.topics
			resp := e.request(req).(*kmsg.CreateTopicsResponse)
			if len(resp.Topics) != len(tt.topics) {
				t.Fatalf("%d answers for %d topics", len(resp.Topics), len(tt.topics))
			}
			for _, st := range resp.Topics {
				if err := kerr.ErrorForCode(st.ErrorCode); !errIs(err, tt.want[st.Topic]) {
					t.Errorf("%s: err = %v, want %v", st.Topic, err, tt.want[st.Topic])
				}
			}
		})
	}
	td := e.topics()["manual"]
	if len(td.Partitions) != 3 || td.Partitions[2].Leader != 1 {
		t.Fatalf("manual topic: %+v", td)
	}
}

func TestAdminDeleteTopics(t *testing.T) {
	e := startAdminEnv(t, "")
	ctx := testCtx(t)
	first := e.createTopic("doomed", 2, nil)
	e.produce("doomed", 0, 3, 10)
	e.createTopic("__internal_test", 1, nil)

	resps, err := e.adm.DeleteTopics(ctx, "doomed", "missing", "__internal_test")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]error{"doomed": nil, "missing": kerr.UnknownTopicOrPartition, "__internal_test": kerr.InvalidRequest}
	for topic, w := range want {
		r, err := resps.On(topic, nil)
		if err != nil || !errIs(r.Err, w) {
			t.Errorf("delete %s: %v / %v, want %v", topic, err, r.Err, w)
		}
	}
	if _, ok := e.topics()["doomed"]; ok {
		t.Fatal("deleted topic still in metadata")
	}
	if _, ok := e.topics()["__internal_test"]; !ok {
		t.Fatal("internal topic was deleted")
	}
	eventually(t, 10*time.Second, func() error {
		if n := e.segmentFiles("doomed", 0); n != 0 {
			return fmt.Errorf("%d segment files of a deleted topic remain", n)
		}
		return nil
	})

	// Recreating the name gives a new topic with a new id and no old data.
	second := e.createTopic("doomed", 1, nil)
	if second.ID == first.ID {
		t.Fatal("recreated topic kept the old id")
	}
	offs, err := e.adm.ListEndOffsets(ctx, "doomed")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := offs.Lookup("doomed", 0); o.Offset != 0 {
		t.Fatalf("recreated topic ends at %d, want 0", o.Offset)
	}
}

// TestAdminDeleteTopicsByID uses DeleteTopics v6, which names topics by id.
func TestAdminDeleteTopicsByID(t *testing.T) {
	e := startAdminEnv(t, "")
	created := e.createTopic("by-id", 1, nil)
	other := e.createTopic("by-name-and-wrong-id", 1, nil)
	target := func(name *string, id [16]byte) kmsg.DeleteTopicsRequestTopic {
		rt := kmsg.NewDeleteTopicsRequestTopic()
		rt.Topic, rt.TopicID = name, id
		return rt
	}
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.Version = 6
	req.Topics = []kmsg.DeleteTopicsRequestTopic{
		target(nil, created.ID),
		target(nil, [16]byte{1, 2, 3}),
		target(strp("by-name-and-wrong-id"), [16]byte{9}),
	}
	resp := e.request(req).(*kmsg.DeleteTopicsResponse)
	if len(resp.Topics) != 3 {
		t.Fatalf("%d answers, want 3", len(resp.Topics))
	}
	wants := []struct {
		name string
		err  error
	}{{"by-id", nil}, {"", kerr.UnknownTopicID}, {"by-name-and-wrong-id", kerr.UnknownTopicID}}
	for i, w := range wants {
		st := resp.Topics[i]
		if err := kerr.ErrorForCode(st.ErrorCode); !errIs(err, w.err) {
			t.Errorf("answer %d: err %v, want %v", i, err, w.err)
		}
		if w.name != "" && (st.Topic == nil || *st.Topic != w.name) {
			t.Errorf("answer %d names %v, want %s", i, st.Topic, w.name)
		}
	}
	if resp.Topics[0].TopicID != created.ID {
		t.Errorf("answer 0 has id %v, want %v", resp.Topics[0].TopicID, created.ID)
	}
	topics := e.topics()
	if _, ok := topics["by-id"]; ok {
		t.Error("topic deleted by id still exists")
	}
	if td, ok := topics["by-name-and-wrong-id"]; !ok || td.ID != other.ID {
		t.Error("a deletion with a mismatched id deleted the topic")
	}
}

func TestAdminCreatePartitions(t *testing.T) {
	e := startAdminEnv(t, "")
	e.createTopic("grow", 1, nil)
	e.createTopic("__internal_grow", 1, nil)
	tests := []struct {
		name    string
		topic   string
		run     func(topic string) (kadm.CreatePartitionsResponses, error)
		wantErr error
		want    int // partitions afterwards
	}{
		{"add two", "grow", func(tp string) (kadm.CreatePartitionsResponses, error) {
			return e.adm.CreatePartitions(testCtx(t), 2, tp)
		}, nil, 3},
		{"validate only", "grow", func(tp string) (kadm.CreatePartitionsResponses, error) {
			return e.adm.ValidateCreatePartitions(testCtx(t), 5, tp)
		}, nil, 3},
		{"set total", "grow", func(tp string) (kadm.CreatePartitionsResponses, error) {
			return e.adm.UpdatePartitions(testCtx(t), 4, tp)
		}, nil, 4},
		{"shrink", "grow", func(tp string) (kadm.CreatePartitionsResponses, error) {
			return e.adm.UpdatePartitions(testCtx(t), 2, tp)
		}, kerr.InvalidPartitions, 4},
		{"same count", "grow", func(tp string) (kadm.CreatePartitionsResponses, error) {
			return e.adm.UpdatePartitions(testCtx(t), 4, tp)
		}, kerr.InvalidPartitions, 4},
		{"internal", "__internal_grow", func(tp string) (kadm.CreatePartitionsResponses, error) {
			return e.adm.CreatePartitions(testCtx(t), 1, tp)
		}, kerr.InvalidRequest, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resps, err := tt.run(tt.topic)
			if err != nil {
				t.Fatal(err)
			}
			r, err := resps.On(tt.topic, nil)
			if err != nil || !errIs(r.Err, tt.wantErr) {
				t.Fatalf("err = %v / %v (%s), want %v", err, r.Err, r.ErrMessage, tt.wantErr)
			}
			if n := len(e.topics()[tt.topic].Partitions); n != tt.want {
				t.Fatalf("%d partitions, want %d", n, tt.want)
			}
		})
	}
	// A new partition is usable at once.
	e.produce("grow", 3, 2, 10)

	// Raw: a topic the broker does not know.
	req := kmsg.NewPtrCreatePartitionsRequest()
	rt := kmsg.NewCreatePartitionsRequestTopic()
	rt.Topic, rt.Count = "missing", 3
	req.Topics = append(req.Topics, rt)
	resp := e.request(req).(*kmsg.CreatePartitionsResponse)
	if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); !errors.Is(err, kerr.UnknownTopicOrPartition) {
		t.Fatalf("unknown topic: err = %v", err)
	}
}

// TestAdminRestartKeepsTopics restarts the broker over the same data dir: topics,
// their ids, partition counts and configs survive.
func TestAdminRestartKeepsTopics(t *testing.T) {
	dir := t.TempDir()
	e := startAdminEnv(t, dir)
	created := e.createTopic("durable", 2, map[string]*string{"retention.ms": strp("123456")})
	if _, err := e.adm.CreatePartitions(testCtx(t), 1, "durable"); err != nil {
		t.Fatal(err)
	}
	e.produce("durable", 2, 5, 10)
	e.stop()

	e2 := startAdminEnv(t, dir)
	td, ok := e2.topics()["durable"]
	if !ok || td.ID != created.ID || len(td.Partitions) != 3 {
		t.Fatalf("after restart: %+v (created id %v)", td, created.ID)
	}
	if c := e2.describeTopicConfigs("durable")["retention.ms"]; c.Value == nil || *c.Value != "123456" {
		t.Fatalf("retention.ms after restart: %+v", c)
	}
	offs, err := e2.adm.ListEndOffsets(testCtx(t), "durable")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := offs.Lookup("durable", 2); o.Offset != 5 {
		t.Fatalf("partition 2 ends at %d after restart, want 5", o.Offset)
	}
}
