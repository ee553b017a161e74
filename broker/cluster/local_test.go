package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func openTest(t *testing.T, dir string, opts ...LocalOption) *Local {
	t.Helper()
	l, err := OpenLocalWith(dir, 1, "cluster-1", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func registerBrokers(t *testing.T, l *Local, ids ...int32) {
	t.Helper()
	for _, id := range ids {
		if err := l.RegisterBroker(Broker{ID: id, Host: "127.0.0.1", Port: 9000 + id}); err != nil {
			t.Fatal(err)
		}
	}
}

// sameState compares what survives a restart: everything but the version, which
// a compaction may keep or not.
func sameState(t *testing.T, a, b *Snapshot) {
	t.Helper()
	if a.ClusterID != b.ClusterID || !reflect.DeepEqual(a.Brokers, b.Brokers) ||
		!reflect.DeepEqual(a.Topics, b.Topics) || !reflect.DeepEqual(a.TopicsByID, b.TopicsByID) {
		ja, _ := MarshalSnapshot(a)
		jb, _ := MarshalSnapshot(b)
		t.Fatalf("state differs:\n%s\n%s", ja, jb)
	}
}

// populate makes a few changes of every kind.
func populate(t *testing.T, l *Local) {
	t.Helper()
	registerBrokers(t, l, 1)
	steps := []func() error{
		func() error {
			_, err := l.CreateTopic("orders", 3, 1, map[string]string{"retention.ms": "60000"}, false)
			return err
		},
		func() error { _, err := l.CreateTopic("gone", 1, 1, nil, false); return err },
		func() error { _, err := l.CreateTopic("__consumer_offsets", 2, 1, nil, false); return err },
		func() error { return l.CreatePartitions("orders", 5, false) },
		func() error {
			return l.SetTopicConfigs("orders", map[string]string{"cleanup.policy": "compact", "min.insync.replicas": "1"}, false)
		},
		func() error { return l.DeleteTopic("gone") },
	}
	for i, s := range steps {
		if err := s(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
}

func TestLocalRestartKeepsState(t *testing.T) {
	tests := []struct {
		name string
		opts []LocalOption
	}{
		{"replay from the command log", nil},
		{"compacted after every command", []LocalOption{WithCompactBytes(1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			l := openTest(t, dir, tt.opts...)
			populate(t, l)
			before := l.Snapshot()
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l2 := openTest(t, dir, tt.opts...)
			after := l2.Snapshot()
			sameState(t, before, after)
			if after.Version != before.Version {
				t.Fatalf("version %d after restart, %d before", after.Version, before.Version)
			}
			orders := after.Topics["orders"]
			if len(orders.Partitions) != 5 || orders.Configs["cleanup.policy"] != "compact" || orders.ID.IsZero() {
				t.Fatalf("orders after restart: %+v", orders)
			}
			// The reopened store keeps working and keeps versions consecutive.
			if _, err := l2.CreateTopic("later", 1, 1, nil, false); err != nil {
				t.Fatal(err)
			}
			want := l2.Snapshot()
			_ = l2.Close()
			sameState(t, want, openTest(t, dir, tt.opts...).Snapshot())
		})
	}
}

func TestLocalTornLastLine(t *testing.T) {
	tests := []struct {
		name string
		tail func(line []byte) []byte
	}{
		{"half a line", func(line []byte) []byte { return line[:len(line)/2] }},
		{"a line without its newline", func(line []byte) []byte { return line[:len(line)-1] }},
		{"zero fill", func(line []byte) []byte { return make([]byte, 100) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			l := openTest(t, dir)
			populate(t, l)
			before := l.Snapshot()
			_ = l.Close()
			line, err := encodeEntry(before.Version+1, Command{DeleteTopic: &TopicDeletion{Name: "orders"}})
			if err != nil {
				t.Fatal(err)
			}
			appendFile(t, filepath.Join(dir, commandLogFileName), tt.tail(line))

			l2 := openTest(t, dir)
			sameState(t, before, l2.Snapshot())
			if _, err := l2.CreateTopic("after-crash", 1, 1, nil, false); err != nil {
				t.Fatal(err)
			}
			want := l2.Snapshot()
			_ = l2.Close()
			// The torn bytes were cut, so the new entry reads back.
			sameState(t, want, openTest(t, dir).Snapshot())
		})
	}
}

func appendFile(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

func TestLocalOpenErrors(t *testing.T) {
	tests := []struct {
		name    string
		damage  func(t *testing.T, dir string)
		cluster string
		want    string
	}{
		{"corrupt middle line", func(t *testing.T, dir string) {
			p := filepath.Join(dir, commandLogFileName)
			b, _ := os.ReadFile(p)
			b = bytes.Replace(b, []byte(`"orders"`), []byte(`"ordersX"`), 1)
			os.WriteFile(p, b, 0o644)
		}, "cluster-1", "line 2: command checksum"},
		{"missing entry", func(t *testing.T, dir string) {
			p := filepath.Join(dir, commandLogFileName)
			b, _ := os.ReadFile(p)
			lines := bytes.SplitAfter(b, []byte("\n"))
			os.WriteFile(p, append(lines[0], bytes.Join(lines[2:], nil)...), 0o644)
		}, "cluster-1", "entries are missing"},
		{"damaged snapshot", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, snapshotFileName), []byte(`{"format":1,`), 0o644)
		}, "cluster-1", snapshotFileName},
		{"other cluster", func(t *testing.T, dir string) {}, "cluster-2", `belongs to cluster "cluster-1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			l := openTest(t, dir)
			populate(t, l)
			_ = l.Close()
			tt.damage(t, dir)
			_, err := OpenLocal(dir, 1, tt.cluster)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestLocalClusterIDKept(t *testing.T) {
	dir := t.TempDir()
	_ = openTest(t, dir).Close()
	l, err := OpenLocal(dir, 1, "")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got := l.Snapshot().ClusterID; got != "cluster-1" {
		t.Fatalf("cluster id %q, want the stored cluster-1", got)
	}
}

// TestLocalCompactionCrash simulates a crash after snapshot.json was written but
// before commands.log was emptied: the covered entries must be skipped.
func TestLocalCompactionCrash(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir)
	populate(t, l)
	before := l.Snapshot()
	logBytes, err := os.ReadFile(filepath.Join(dir, commandLogFileName))
	if err != nil || len(logBytes) == 0 {
		t.Fatalf("command log: %d bytes, %v", len(logBytes), err)
	}
	l.mu.Lock()
	err = l.compact()
	l.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	_ = l.Close()
	if err := os.WriteFile(filepath.Join(dir, commandLogFileName), logBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	after := openTest(t, dir).Snapshot()
	sameState(t, before, after)
	if after.Version != before.Version {
		t.Fatalf("version %d, want %d", after.Version, before.Version)
	}
}

func TestLocalCompactsWhenLogGrows(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir, WithCompactBytes(2048))
	registerBrokers(t, l, 1)
	for i := range 40 {
		if _, err := l.CreateTopic(fmt.Sprintf("t%d", i), 1, 1, nil, false); err != nil {
			t.Fatal(err)
		}
	}
	st, err := os.Stat(filepath.Join(dir, commandLogFileName))
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() >= 2048 {
		t.Fatalf("command log is %d bytes, compaction should keep it under 2048", st.Size())
	}
	snap, err := os.ReadFile(filepath.Join(dir, snapshotFileName))
	if err != nil || !bytes.Contains(snap, []byte(`"t20"`)) {
		t.Fatalf("snapshot.json lacks compacted topics (err %v)", err)
	}
	want := l.Snapshot()
	_ = l.Close()
	sameState(t, want, openTest(t, dir).Snapshot())
}

func TestLocalSubscribe(t *testing.T) {
	l := openTest(t, t.TempDir())
	var versions []uint64
	var topics []int
	l.Subscribe(func(s *Snapshot) {
		versions = append(versions, s.Version)
		topics = append(topics, len(s.Topics))
	})
	registerBrokers(t, l, 1)
	registerBrokers(t, l, 1) // unchanged: no command, no call
	if _, err := l.CreateTopic("a", 1, 1, nil, false); err != nil {
		t.Fatal(err)
	}
	if _, err := l.CreateTopic("b", 1, 1, nil, true); err != nil { // validate only: no call
		t.Fatal(err)
	}
	if _, err := l.CreateTopic("a", 1, 1, nil, false); !errors.Is(err, ErrTopicExists) { // failed: no call
		t.Fatalf("duplicate create: %v", err)
	}
	if err := l.DeleteTopic("a"); err != nil {
		t.Fatal(err)
	}
	if want := []uint64{0, 1, 2, 3}; !reflect.DeepEqual(versions, want) {
		t.Fatalf("subscriber saw versions %v, want %v", versions, want)
	}
	if want := []int{0, 0, 1, 0}; !reflect.DeepEqual(topics, want) {
		t.Fatalf("subscriber saw topic counts %v, want %v", topics, want)
	}
}
