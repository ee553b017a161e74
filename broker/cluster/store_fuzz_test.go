package cluster

import (
	"bytes"
	"strings"
	"testing"
)

// seedFiles returns a valid snapshot after baseCommands and a command log that
// continues from it with one command of every other kind.
func seedFiles(t testing.TB) (snapshot, commands []byte) {
	m := NewMetadata("c", 1)
	for _, c := range baseCommands() {
		if err := m.Apply(c); err != nil {
			t.Fatal(err)
		}
	}
	snapshot, err := MarshalSnapshot(m.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	more := []Command{
		regCmd(4),
		createCmd("b", 2, parts(2, []int32{4}), map[string]string{"cleanup.policy": "compact"}),
		{CreatePartitions: &PartitionCreation{Name: "b", Partitions: []Partition{{ID: 2, Leader: 1, Replicas: []int32{1}, ISR: []int32{1}}}}},
		{SetTopicConfigs: &TopicConfigChange{Name: "a", Configs: map[string]string{"retention.ms": "5"}}},
		{DeleteTopic: &TopicDeletion{Name: "a"}},
	}
	for _, c := range more {
		if err := m.Apply(c); err != nil {
			t.Fatal(err)
		}
		line, err := encodeEntry(m.Snapshot().Version, c)
		if err != nil {
			t.Fatal(err)
		}
		commands = append(commands, line...)
	}
	return snapshot, commands
}

// FuzzCommandLog loads metadata from arbitrary snapshot and command-log bytes.
// Loading must never panic; it either fails with an error naming the file, or
// yields a state that survives a marshal/unmarshal round trip unchanged.
func FuzzCommandLog(f *testing.F) {
	snap, cmds := seedFiles(f)
	f.Add(snap, cmds)
	f.Add([]byte(nil), cmds)
	f.Add(snap, cmds[:len(cmds)-7])
	f.Add(snap[:len(snap)/2], cmds)
	f.Add([]byte(nil), []byte("{}\n"))
	f.Add([]byte(`{"format":1}`), []byte(`{"version":1,"crc":0,"command":null}`+"\n"))
	f.Fuzz(func(t *testing.T, snapshot, commands []byte) {
		res, err := load(snapshot, commands, "", 1)
		if err != nil {
			msg := err.Error()
			if !strings.Contains(msg, snapshotFileName) && !strings.Contains(msg, commandLogFileName) {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if res.logLen > int64(len(commands)) || (res.logLen > 0 && commands[res.logLen-1] != '\n') {
			t.Fatalf("whole-line length %d of %d bytes", res.logLen, len(commands))
		}
		s := res.meta.Snapshot()
		b, err := MarshalSnapshot(s)
		if err != nil {
			t.Fatal(err)
		}
		back, err := UnmarshalSnapshot(b)
		if err != nil {
			t.Fatalf("a loaded state does not reload: %v\n%s", err, b)
		}
		b2, err := MarshalSnapshot(back)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, b2) {
			t.Fatalf("round trip differs:\n%s\n%s", b, b2)
		}
	})
}

func TestLoadSeeds(t *testing.T) {
	snap, cmds := seedFiles(t)
	res, err := load(snap, cmds, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	s := res.meta.Snapshot()
	if res.replayed != 5 || s.Version != 9 || s.Topics["b"] == nil || s.Topics["a"] != nil || len(s.Topics["b"].Partitions) != 3 {
		t.Fatalf("replayed %d to version %d: topics %v", res.replayed, s.Version, s.TopicNames())
	}
	// Without the snapshot the log alone does not start at version 1.
	if _, err := load(nil, cmds, "", 1); err == nil || !strings.Contains(err.Error(), "entries are missing") {
		t.Fatalf("log without its snapshot: err = %v", err)
	}
}
