package cluster

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func uuidOf(b byte) UUID { return UUID{0: b, 6: 0x40, 8: 0x80} }

func regCmd(id int32) Command {
	return Command{RegisterBroker: &BrokerRegistration{Broker: Broker{ID: id, Host: "127.0.0.1", Port: 9000 + id}}}
}

// parts builds n partitions with the given replica lists cycled.
func parts(n int, replicas ...[]int32) []Partition {
	out := make([]Partition, n)
	for i := range out {
		r := replicas[i%len(replicas)]
		out[i] = Partition{ID: int32(i), Leader: r[0], Replicas: r, ISR: r}
	}
	return out
}

func createCmd(name string, id byte, p []Partition, cfg map[string]string) Command {
	return Command{CreateTopic: &TopicCreation{Name: name, ID: uuidOf(id), Partitions: p, Configs: cfg}}
}

// baseCommands registers brokers 1..3 and creates topic "a" with 2 partitions.
func baseCommands() []Command {
	return []Command{
		regCmd(1), regCmd(2), regCmd(3),
		createCmd("a", 1, parts(2, []int32{1, 2}, []int32{2, 3}), map[string]string{"retention.ms": "1000"}),
	}
}

func TestMetadataApply(t *testing.T) {
	shift := func(ps []Partition, by int32) []Partition {
		for i := range ps {
			ps[i].ID += by
		}
		return ps
	}
	tests := []struct {
		name    string
		setup   []Command // applied after baseCommands
		cmd     Command
		wantErr error
		check   func(t *testing.T, s *Snapshot)
	}{
		{name: "register new broker", cmd: regCmd(0), check: func(t *testing.T, s *Snapshot) {
			if len(s.Brokers) != 4 || s.Brokers[0].ID != 0 {
				t.Fatalf("brokers %v: want 4 sorted by id", s.Brokers)
			}
		}},
		{name: "re-register moves address", cmd: Command{RegisterBroker: &BrokerRegistration{Broker: Broker{ID: 2, Host: "h", Port: 1, Rack: "r"}}},
			check: func(t *testing.T, s *Snapshot) {
				if b, _ := s.Broker(2); b.Host != "h" || b.Rack != "r" || len(s.Brokers) != 3 {
					t.Fatalf("broker 2 = %+v, brokers %d", b, len(s.Brokers))
				}
			}},
		{name: "register negative id", cmd: regCmd(-1), wantErr: ErrInvalidCommand},
		{name: "register without host", cmd: Command{RegisterBroker: &BrokerRegistration{Broker: Broker{ID: 4, Port: 1}}}, wantErr: ErrInvalidCommand},
		{name: "register port zero", cmd: Command{RegisterBroker: &BrokerRegistration{Broker: Broker{ID: 4, Host: "h"}}}, wantErr: ErrInvalidCommand},
		{name: "empty command", cmd: Command{}, wantErr: ErrInvalidCommand},
		{name: "two kinds", cmd: Command{RegisterBroker: regCmd(4).RegisterBroker, DeleteTopic: &TopicDeletion{Name: "a"}}, wantErr: ErrInvalidCommand},
		{name: "create topic", cmd: createCmd("b", 2, parts(3, []int32{3}), nil), check: func(t *testing.T, s *Snapshot) {
			tp := s.Topics["b"]
			if tp == nil || s.TopicsByID[uuidOf(2)] != tp || len(tp.Partitions) != 3 || tp.Internal || tp.Configs == nil {
				t.Fatalf("topic b = %+v", tp)
			}
		}},
		{name: "create internal topic", cmd: createCmd("__consumer_offsets", 2, parts(1, []int32{1}), nil), check: func(t *testing.T, s *Snapshot) {
			if !s.Topics["__consumer_offsets"].Internal {
				t.Fatal("__consumer_offsets is not marked internal")
			}
		}},
		{name: "create existing", cmd: createCmd("a", 2, parts(1, []int32{1}), nil), wantErr: ErrTopicExists},
		// x.y and x_y share a metric name; Kafka refuses the second.
		{name: "create colliding name", setup: []Command{createCmd("x.y", 7, parts(1, []int32{1}), nil)},
			cmd: createCmd("x_y", 2, parts(1, []int32{1}), nil), wantErr: ErrInvalidTopic},
		{name: "create bad name", cmd: createCmd("a b", 2, parts(1, []int32{1}), nil), wantErr: ErrInvalidTopic},
		{name: "create zero id", cmd: Command{CreateTopic: &TopicCreation{Name: "b", Partitions: parts(1, []int32{1})}}, wantErr: ErrInvalidCommand},
		{name: "create reused id", cmd: createCmd("b", 1, parts(1, []int32{1}), nil), wantErr: ErrInvalidCommand},
		{name: "create no partitions", cmd: createCmd("b", 2, nil, nil), wantErr: ErrInvalidPartitions},
		{name: "create no replicas", cmd: createCmd("b", 2, []Partition{{ID: 0}}, nil), wantErr: ErrInvalidReplicationFactor},
		{name: "create unknown broker", cmd: createCmd("b", 2, parts(1, []int32{9}), nil), wantErr: ErrInvalidReplicaAssignment},
		{name: "create repeated broker", cmd: createCmd("b", 2, parts(1, []int32{1, 1}), nil), wantErr: ErrInvalidReplicaAssignment},
		{name: "create mixed rf", cmd: createCmd("b", 2, parts(2, []int32{1}, []int32{1, 2}), nil), wantErr: ErrInvalidReplicaAssignment},
		{name: "create gap in ids", cmd: createCmd("b", 2, shift(parts(1, []int32{1}), 1), nil), wantErr: ErrInvalidCommand},
		{name: "create leader outside isr", cmd: createCmd("b", 2, []Partition{{ID: 0, Leader: 2, Replicas: []int32{1, 2}, ISR: []int32{1}}}, nil), wantErr: ErrInvalidCommand},
		{name: "create isr outside replicas", cmd: createCmd("b", 2, []Partition{{ID: 0, Leader: 1, Replicas: []int32{1}, ISR: []int32{1, 2}}}, nil), wantErr: ErrInvalidCommand},
		{name: "create negative epoch", cmd: createCmd("b", 2, []Partition{{ID: 0, Leader: 1, LeaderEpoch: -1, Replicas: []int32{1}, ISR: []int32{1}}}, nil), wantErr: ErrInvalidCommand},
		{name: "delete topic", cmd: Command{DeleteTopic: &TopicDeletion{Name: "a"}}, check: func(t *testing.T, s *Snapshot) {
			if len(s.Topics) != 0 || len(s.TopicsByID) != 0 {
				t.Fatalf("topics left: %v %v", s.Topics, s.TopicsByID)
			}
		}},
		{name: "delete with matching id", cmd: Command{DeleteTopic: &TopicDeletion{Name: "a", ID: uuidOf(1)}}},
		{name: "delete with other id", cmd: Command{DeleteTopic: &TopicDeletion{Name: "a", ID: uuidOf(9)}}, wantErr: ErrUnknownTopic},
		{name: "delete unknown", cmd: Command{DeleteTopic: &TopicDeletion{Name: "zz"}}, wantErr: ErrUnknownTopic},
		{name: "create partitions", cmd: Command{CreatePartitions: &PartitionCreation{Name: "a", Partitions: shift(parts(2, []int32{3, 1}), 2)}},
			check: func(t *testing.T, s *Snapshot) {
				tp := s.Topics["a"]
				if len(tp.Partitions) != 4 || tp.Partitions[3].Leader != 3 || s.TopicsByID[tp.ID] != tp || tp.Configs["retention.ms"] != "1000" {
					t.Fatalf("topic a = %+v", tp)
				}
			}},
		{name: "create partitions wrong first id", cmd: Command{CreatePartitions: &PartitionCreation{Name: "a", Partitions: parts(1, []int32{1, 2})}}, wantErr: ErrInvalidCommand},
		{name: "create partitions other rf", cmd: Command{CreatePartitions: &PartitionCreation{Name: "a", Partitions: shift(parts(1, []int32{1}), 2)}}, wantErr: ErrInvalidReplicaAssignment},
		{name: "create partitions none", cmd: Command{CreatePartitions: &PartitionCreation{Name: "a"}}, wantErr: ErrInvalidPartitions},
		{name: "create partitions unknown topic", cmd: Command{CreatePartitions: &PartitionCreation{Name: "zz", Partitions: parts(1, []int32{1})}}, wantErr: ErrUnknownTopic},
		{name: "set configs", cmd: Command{SetTopicConfigs: &TopicConfigChange{Name: "a", Configs: map[string]string{"segment.bytes": "100"}}},
			check: func(t *testing.T, s *Snapshot) {
				want := map[string]string{"segment.bytes": "100"}
				if tp := s.Topics["a"]; !reflect.DeepEqual(tp.Configs, want) || s.TopicsByID[tp.ID] != tp {
					t.Fatalf("configs %v, want %v", tp.Configs, want)
				}
			}},
		{name: "set configs clears", cmd: Command{SetTopicConfigs: &TopicConfigChange{Name: "a"}}, check: func(t *testing.T, s *Snapshot) {
			if c := s.Topics["a"].Configs; c == nil || len(c) != 0 {
				t.Fatalf("configs %v, want empty", c)
			}
		}},
		{name: "set configs unknown topic", cmd: Command{SetTopicConfigs: &TopicConfigChange{Name: "zz"}}, wantErr: ErrUnknownTopic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMetadata("c1", 1)
			for _, c := range append(baseCommands(), tt.setup...) {
				if err := m.Apply(c); err != nil {
					t.Fatal(err)
				}
			}
			before := m.Snapshot()
			beforeJSON, _ := MarshalSnapshot(before)
			err := m.Apply(tt.cmd)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Apply: err = %v, want %v", err, tt.wantErr)
			}
			after := m.Snapshot()
			if err != nil {
				if after != before {
					t.Fatal("a failed command changed the snapshot")
				}
				return
			}
			if after.Version != before.Version+1 {
				t.Fatalf("version %d after %d", after.Version, before.Version)
			}
			// Copy-on-write: the old snapshot reads as it did.
			if again, _ := MarshalSnapshot(before); !bytes.Equal(again, beforeJSON) {
				t.Fatalf("old snapshot changed:\n%s\n%s", beforeJSON, again)
			}
			if tt.check != nil {
				tt.check(t, after)
			}
		})
	}
}

// TestMetadataCommandIsCopied checks that a snapshot does not share memory with
// the command that built it.
func TestMetadataCommandIsCopied(t *testing.T) {
	m := NewMetadata("c", 1)
	cmds := baseCommands()
	for _, c := range cmds {
		if err := m.Apply(c); err != nil {
			t.Fatal(err)
		}
	}
	cmds[3].CreateTopic.Partitions[0].Replicas[0] = 99
	cmds[3].CreateTopic.Configs["retention.ms"] = "5"
	tp := m.Snapshot().Topics["a"]
	if tp.Partitions[0].Replicas[0] != 1 || tp.Configs["retention.ms"] != "1000" {
		t.Fatalf("snapshot changed with the command: %+v", tp)
	}
}

// TestMetadataReplayDeterministic applies a long mixed command sequence twice,
// and through a marshal/unmarshal round trip, and expects identical states.
func TestMetadataReplayDeterministic(t *testing.T) {
	cmds := baseCommands()
	for i := range 50 {
		name := string(rune('b'+i%20)) + "-" + string(rune('0'+i%10))
		id := byte(10 + i)
		cmds = append(cmds,
			createCmd(name, id, parts(1+i%3, []int32{1 + int32(i)%3}), map[string]string{"cleanup.policy": "compact"}),
			Command{CreatePartitions: &PartitionCreation{Name: name, ID: uuidOf(id), Partitions: []Partition{{ID: int32(1 + i%3), Leader: 1, Replicas: []int32{1}, ISR: []int32{1}}}}},
			Command{SetTopicConfigs: &TopicConfigChange{Name: name, Configs: map[string]string{"retention.ms": "1"}}},
		)
		if i%2 == 0 {
			cmds = append(cmds, Command{DeleteTopic: &TopicDeletion{Name: name}})
		}
	}
	run := func() ([]byte, *Snapshot) {
		m := NewMetadata("c", 1)
		for _, c := range cmds {
			// Some commands fail (a name reused before its deletion); failures
			// must be deterministic too, so they are part of the replay.
			_ = m.Apply(c)
		}
		b, err := MarshalSnapshot(m.Snapshot())
		if err != nil {
			t.Fatal(err)
		}
		return b, m.Snapshot()
	}
	a, snap := run()
	b, _ := run()
	if !bytes.Equal(a, b) {
		t.Fatalf("two replays differ:\n%s\n%s", a, b)
	}
	if len(snap.Topics) == 0 || snap.Version == 0 {
		t.Fatalf("replay built nothing: %d topics, version %d", len(snap.Topics), snap.Version)
	}
	restored, err := UnmarshalSnapshot(a)
	if err != nil {
		t.Fatal(err)
	}
	c, err := MarshalSnapshot(restored)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, c) {
		t.Fatalf("marshal round trip differs:\n%s\n%s", a, c)
	}
	if !reflect.DeepEqual(restored.Topics, snap.Topics) || !reflect.DeepEqual(restored.TopicsByID, snap.TopicsByID) {
		t.Fatal("restored topics differ from the replayed ones")
	}
}

func TestUnmarshalSnapshotErrors(t *testing.T) {
	m := NewMetadata("c", 1)
	for _, c := range baseCommands() {
		if err := m.Apply(c); err != nil {
			t.Fatal(err)
		}
	}
	good, err := MarshalSnapshot(m.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data string
		want string
	}{
		{"empty", "", "EOF"},
		{"not json", "{", "unexpected EOF"},
		{"unknown field", `{"format":1,"extra":1}`, "unknown field"},
		{"trailing data", string(good) + "{}", "trailing data"},
		{"other format", `{"format":2}`, "format 2"},
		{"duplicate broker", `{"format":1,"brokers":[{"id":1,"host":"h","port":1},{"id":1,"host":"h","port":1}]}`, "listed twice"},
		{"topic on unknown broker", `{"format":1,"topics":[{"name":"a","id":"AAAAAAAAAAAAAAAAAAAAAQ","partitions":[{"id":0,"leader":1,"replicas":[1],"isr":[1]}]}]}`, "not registered"},
		{"bad topic id", `{"format":1,"topics":[{"name":"a","id":"xyz"}]}`, "topic id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := UnmarshalSnapshot([]byte(tt.data))
			if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tt.want)) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}
