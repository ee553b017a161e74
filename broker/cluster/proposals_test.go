package cluster

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
)

func TestLocalCreateTopic(t *testing.T) {
	tests := []struct {
		name    string
		spec    TopicSpec
		wantErr error
		// wantReplicas is the replica list of each partition, when checked.
		wantReplicas [][]int32
	}{
		{name: "round robin rf 2", spec: TopicSpec{Name: "t", Partitions: 4, ReplicationFactor: 2},
			wantReplicas: [][]int32{{1, 2}, {2, 3}, {3, 1}, {1, 2}}},
		{name: "rf equals brokers", spec: TopicSpec{Name: "t", Partitions: 1, ReplicationFactor: 3}, wantReplicas: [][]int32{{1, 2, 3}}},
		{name: "manual assignment", spec: TopicSpec{Name: "t", Assignment: [][]int32{{3, 1}, {2, 3}}}, wantReplicas: [][]int32{{3, 1}, {2, 3}}},
		{name: "rf above brokers", spec: TopicSpec{Name: "t", Partitions: 1, ReplicationFactor: 4}, wantErr: ErrInvalidReplicationFactor},
		{name: "rf zero", spec: TopicSpec{Name: "t", Partitions: 1}, wantErr: ErrInvalidReplicationFactor},
		{name: "no partitions", spec: TopicSpec{Name: "t", ReplicationFactor: 1}, wantErr: ErrInvalidPartitions},
		{name: "too many partitions", spec: TopicSpec{Name: "t", Partitions: MaxPartitionsPerRequest + 1, ReplicationFactor: 1}, wantErr: ErrInvalidPartitions},
		{name: "manual unknown broker", spec: TopicSpec{Name: "t", Assignment: [][]int32{{7}}}, wantErr: ErrInvalidReplicaAssignment},
		{name: "manual empty list", spec: TopicSpec{Name: "t", Assignment: [][]int32{{1}, {}}}, wantErr: ErrInvalidReplicaAssignment},
		{name: "manual mixed rf", spec: TopicSpec{Name: "t", Assignment: [][]int32{{1}, {1, 2}}}, wantErr: ErrInvalidReplicaAssignment},
		{name: "bad name", spec: TopicSpec{Name: "t/x", Partitions: 1, ReplicationFactor: 1}, wantErr: ErrInvalidTopic},
		{name: "bad config", spec: TopicSpec{Name: "t", Partitions: 1, ReplicationFactor: 1, Configs: map[string]string{"retention.ms": "x"}}, wantErr: ErrInvalidConfig},
		{name: "existing", spec: TopicSpec{Name: "existing", Partitions: 1, ReplicationFactor: 1}, wantErr: ErrTopicExists},
	}
	for _, tt := range tests {
		for _, validateOnly := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/validateOnly=%v", tt.name, validateOnly), func(t *testing.T) {
				l := openTest(t, t.TempDir())
				registerBrokers(t, l, 3, 1, 2)
				// One existing partition shifts the round robin by one broker.
				if _, err := l.CreateTopic("existing", 1, 1, nil, false); err != nil {
					t.Fatal(err)
				}
				before := l.Snapshot()
				tp, err := l.Create(tt.spec, validateOnly)
				if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if err != nil || validateOnly {
					if l.Snapshot() != before {
						t.Fatal("a failed or validate-only create changed the metadata")
					}
				} else if l.Snapshot().Topics[tt.spec.Name] != tp {
					t.Fatal("the returned topic is not the one in the snapshot")
				}
				if err != nil || tt.wantReplicas == nil {
					return
				}
				var got [][]int32
				for _, p := range tp.Partitions {
					got = append(got, p.Replicas)
					if p.Leader != p.Replicas[0] || !reflect.DeepEqual(p.ISR, p.Replicas) {
						t.Errorf("partition %d: leader %d isr %v replicas %v", p.ID, p.Leader, p.ISR, p.Replicas)
					}
				}
				want := tt.wantReplicas
				if len(tt.spec.Assignment) == 0 {
					// Placement starts after the partition "existing" took broker 1.
					want = rotate(want)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("replicas %v, want %v", got, want)
				}
			})
		}
	}
}

// rotate maps each broker id b in 1..3 to the next one, the shift one existing
// partition gives round-robin placement.
func rotate(lists [][]int32) [][]int32 {
	out := make([][]int32, len(lists))
	for i, l := range lists {
		for _, b := range l {
			out[i] = append(out[i], b%3+1)
		}
	}
	return out
}

func TestLocalChanges(t *testing.T) {
	tests := []struct {
		name    string
		change  func(l *Local) error
		wantErr error
		check   func(t *testing.T, s *Snapshot)
	}{
		{name: "add partitions", change: func(l *Local) error { return l.CreatePartitions("t", 4, false) },
			check: func(t *testing.T, s *Snapshot) {
				if n := len(s.Topics["t"].Partitions); n != 4 {
					t.Fatalf("%d partitions, want 4", n)
				}
				if rf := len(s.Topics["t"].Partitions[3].Replicas); rf != 2 {
					t.Fatalf("new partition rf %d, want the topic's 2", rf)
				}
			}},
		{name: "add partitions validate only", change: func(l *Local) error { return l.CreatePartitions("t", 4, true) },
			check: func(t *testing.T, s *Snapshot) {
				if n := len(s.Topics["t"].Partitions); n != 2 {
					t.Fatalf("%d partitions, want 2", n)
				}
			}},
		{name: "add partitions by hand", change: func(l *Local) error { return l.AddPartitions("t", 3, [][]int32{{3, 2}}, false) },
			check: func(t *testing.T, s *Snapshot) {
				if p := s.Topics["t"].Partitions[2]; !reflect.DeepEqual(p.Replicas, []int32{3, 2}) || p.Leader != 3 {
					t.Fatalf("partition 2 = %+v", p)
				}
			}},
		{name: "add partitions wrong list count", change: func(l *Local) error { return l.AddPartitions("t", 4, [][]int32{{3, 2}}, false) }, wantErr: ErrInvalidReplicaAssignment},
		{name: "add partitions other rf", change: func(l *Local) error { return l.AddPartitions("t", 3, [][]int32{{3}}, false) }, wantErr: ErrInvalidReplicaAssignment},
		{name: "shrink partitions", change: func(l *Local) error { return l.CreatePartitions("t", 1, false) }, wantErr: ErrInvalidPartitions},
		{name: "same partition count", change: func(l *Local) error { return l.CreatePartitions("t", 2, false) }, wantErr: ErrInvalidPartitions},
		{name: "partitions of unknown topic", change: func(l *Local) error { return l.CreatePartitions("u", 2, false) }, wantErr: ErrUnknownTopic},
		{name: "partitions of internal topic", change: func(l *Local) error { return l.CreatePartitions("__consumer_offsets", 3, false) }, wantErr: ErrReservedTopic},
		{name: "delete", change: func(l *Local) error { return l.DeleteTopic("t") },
			check: func(t *testing.T, s *Snapshot) {
				if _, ok := s.Topics["t"]; ok {
					t.Fatal("t still exists")
				}
			}},
		{name: "delete unknown", change: func(l *Local) error { return l.DeleteTopic("u") }, wantErr: ErrUnknownTopic},
		{name: "delete internal", change: func(l *Local) error { return l.DeleteTopic("__consumer_offsets") }, wantErr: ErrReservedTopic},
		{name: "set configs", change: func(l *Local) error {
			return l.SetTopicConfigs("t", map[string]string{"segment.bytes": "1024", "compression.type": "lz4"}, false)
		}, check: func(t *testing.T, s *Snapshot) {
			if want := map[string]string{"segment.bytes": "1024", "compression.type": "lz4"}; !reflect.DeepEqual(s.Topics["t"].Configs, want) {
				t.Fatalf("configs %v, want %v", s.Topics["t"].Configs, want)
			}
		}},
		{name: "set configs validate only", change: func(l *Local) error {
			return l.SetTopicConfigs("t", map[string]string{"segment.bytes": "1024"}, true)
		}, check: func(t *testing.T, s *Snapshot) {
			if want := map[string]string{"retention.ms": "1000"}; !reflect.DeepEqual(s.Topics["t"].Configs, want) {
				t.Fatalf("configs %v, want %v", s.Topics["t"].Configs, want)
			}
		}},
		{name: "set bad configs", change: func(l *Local) error {
			return l.SetTopicConfigs("t", map[string]string{"segment.bytes": "-5"}, false)
		}, wantErr: ErrInvalidConfig},
		{name: "set configs of unknown topic", change: func(l *Local) error { return l.SetTopicConfigs("u", nil, false) }, wantErr: ErrUnknownTopic},
		{name: "register bad broker", change: func(l *Local) error { return l.RegisterBroker(Broker{ID: 5}) }, wantErr: ErrInvalidCommand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := openTest(t, t.TempDir())
			registerBrokers(t, l, 1, 2, 3)
			if _, err := l.CreateTopic("t", 2, 2, map[string]string{"retention.ms": "1000"}, false); err != nil {
				t.Fatal(err)
			}
			if _, err := l.CreateTopic("__consumer_offsets", 2, 1, nil, false); err != nil {
				t.Fatal(err)
			}
			err := tt.change(l)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.check != nil {
				tt.check(t, l.Snapshot())
			}
		})
	}
}

// TestLocalConcurrentCreates runs creates from several goroutines while a reader
// takes snapshots, for the race detector and for the id index.
func TestLocalConcurrentCreates(t *testing.T) {
	l := openTest(t, t.TempDir())
	registerBrokers(t, l, 1)
	var seen []uint64
	l.Subscribe(func(s *Snapshot) { seen = append(seen, s.Version) })
	const workers, each = 4, 10
	var wg sync.WaitGroup
	stop := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			select {
			case <-stop:
				return
			default:
				s := l.Snapshot()
				for id, tp := range s.TopicsByID {
					if tp.ID != id {
						t.Errorf("topic %s indexed under %s", tp.Name, id)
					}
				}
			}
		}
	}()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := l.CreateTopic(fmt.Sprintf("w%d-%d", w, i), 1, 1, nil, false); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-readerDone
	s := l.Snapshot()
	if len(s.Topics) != workers*each || len(s.TopicsByID) != workers*each {
		t.Fatalf("%d topics, %d ids; want %d", len(s.Topics), len(s.TopicsByID), workers*each)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] != seen[i-1]+1 {
			t.Fatalf("subscriber saw versions out of order: %v", seen)
		}
	}
}

// TestLocalWriteFailure makes the command log unwritable under the driver: the
// change must fail without being applied, and the driver must refuse further
// changes rather than append after a possibly half-written entry.
func TestLocalWriteFailure(t *testing.T) {
	l := openTest(t, t.TempDir())
	registerBrokers(t, l, 1)
	before := l.Snapshot()
	_ = l.file.Close()
	if _, err := l.CreateTopic("t", 1, 1, nil, false); err == nil {
		t.Fatal("create succeeded with a closed log file")
	}
	if l.Snapshot() != before {
		t.Fatal("a failed write changed the metadata")
	}
	if _, err := l.CreateTopic("u", 1, 1, nil, false); !errors.Is(err, ErrClosed) {
		t.Fatalf("after a failed write: err = %v, want ErrClosed", err)
	}
}

func TestLocalClosed(t *testing.T) {
	l := openTest(t, t.TempDir())
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := l.RegisterBroker(Broker{ID: 1, Host: "h", Port: 1}); !errors.Is(err, ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed", err)
	}
}
