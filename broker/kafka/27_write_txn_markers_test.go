package kafka

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/auth"
	"github.com/tributary-io/tributary/broker/replication"
	"github.com/tributary-io/tributary/broker/txn"
)

// fakeMarkers is a MarkerAppender that leads the partitions in led and records
// what it was asked to write.
type fakeMarkers struct {
	led map[txn.TopicPartition]bool
	mu  sync.Mutex
	got []appendedMarker
}

type appendedMarker struct {
	m  txn.Marker
	tp txn.TopicPartition
}

func (f *fakeMarkers) AppendMarkers(m txn.Marker, tps []txn.TopicPartition) []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	errs := make([]error, len(tps))
	for i, tp := range tps {
		if !f.led[tp] {
			errs[i] = fmt.Errorf("%s-%d led elsewhere: %w", tp.Topic, tp.Partition, replication.ErrNotLeader)
			continue
		}
		f.got = append(f.got, appendedMarker{m: m, tp: tp})
	}
	return errs
}

func (f *fakeMarkers) appended() []appendedMarker {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.got)
}

// markerPart is one partition of a WriteTxnMarkers request and the code expected for it.
type markerPart struct {
	topic     string
	partition int32
	code      int16
}

func TestWriteTxnMarkers(t *testing.T) {
	const offsets = "__consumer_offsets"
	led := map[txn.TopicPartition]bool{
		{Topic: "data", Partition: 0}:  true,
		{Topic: offsets, Partition: 1}: true,
	}
	tests := []struct {
		name       string
		authorizer bool // an authorizer without ACLs: the anonymous peer is denied
		noAppender bool
		commit     bool
		parts      []markerPart
		// appended are the partitions the appender must have written.
		appended []txn.TopicPartition
	}{
		{name: "led partition", commit: true,
			parts:    []markerPart{{"data", 0, 0}},
			appended: []txn.TopicPartition{{Topic: "data", Partition: 0}}},
		{name: "not-led partition",
			parts: []markerPart{{"data", 1, kerr.NotLeaderForPartition.Code}}},
		{name: "unknown topic and partition",
			parts: []markerPart{{"nope", 0, kerr.UnknownTopicOrPartition.Code}, {"data", 7, kerr.UnknownTopicOrPartition.Code}}},
		{name: "consumer offsets partition", commit: true,
			parts:    []markerPart{{offsets, 1, 0}, {offsets, 0, kerr.NotLeaderForPartition.Code}},
			appended: []txn.TopicPartition{{Topic: offsets, Partition: 1}}},
		{name: "mixed request", commit: false,
			parts: []markerPart{{"data", 0, 0}, {"data", 1, kerr.NotLeaderForPartition.Code},
				{"nope", 3, kerr.UnknownTopicOrPartition.Code}, {offsets, 1, 0}},
			appended: []txn.TopicPartition{{Topic: "data", Partition: 0}, {Topic: offsets, Partition: 1}}},
		{name: "unauthorized", authorizer: true, commit: true,
			parts: []markerPart{{"data", 0, kerr.ClusterAuthorizationFailed.Code}, {"nope", 0, kerr.ClusterAuthorizationFailed.Code}}},
		{name: "no appender installed", noAppender: true,
			parts: []markerPart{{"data", 0, kerr.NotLeaderForPartition.Code}}},
	}
	for _, tt := range tests {
		for _, version := range []int16{0, 1} {
			t.Run(fmt.Sprintf("%s/v%d", tt.name, version), func(t *testing.T) {
				ts := newTestServer(t, func(c *Config) {
					if tt.authorizer {
						c.Security.Authorizer = &auth.Authorizer{}
					}
				})
				ts.createTopic(t, "data", 2, nil)
				ts.createTopic(t, offsets, 2, nil)
				fake := &fakeMarkers{led: led}
				if !tt.noAppender {
					ts.s.SetMarkerAppender(fake)
				}

				req := kmsg.NewPtrWriteTxnMarkersRequest()
				req.SetVersion(version)
				mk := kmsg.NewWriteTxnMarkersRequestMarker()
				mk.ProducerID, mk.ProducerEpoch, mk.Committed, mk.CoordinatorEpoch = 4000, 3, tt.commit, 7
				for _, p := range tt.parts {
					i := slices.IndexFunc(mk.Topics, func(t kmsg.WriteTxnMarkersRequestMarkerTopic) bool { return t.Topic == p.topic })
					if i < 0 {
						i = len(mk.Topics)
						rt := kmsg.NewWriteTxnMarkersRequestMarkerTopic()
						rt.Topic = p.topic
						mk.Topics = append(mk.Topics, rt)
					}
					mk.Topics[i].Partitions = append(mk.Topics[i].Partitions, p.partition)
				}
				req.Markers = append(req.Markers, mk)
				addr := ts.addr
				if tt.authorizer {
					addr = serveSecured(t, ts.s)
				}
				resp := dialRaw(t, addr).roundTrip(req).(*kmsg.WriteTxnMarkersResponse)

				got := map[string]int16{}
				if len(resp.Markers) != 1 || resp.Markers[0].ProducerID != 4000 {
					t.Fatalf("markers in the answer: %+v", resp.Markers)
				}
				for _, rt := range resp.Markers[0].Topics {
					for _, rp := range rt.Partitions {
						got[fmt.Sprintf("%s-%d", rt.Topic, rp.Partition)] = rp.ErrorCode
					}
				}
				if len(got) != len(tt.parts) {
					t.Errorf("answered %d partitions, asked %d: %v", len(got), len(tt.parts), got)
				}
				for _, p := range tt.parts {
					key := fmt.Sprintf("%s-%d", p.topic, p.partition)
					if code, ok := got[key]; !ok || code != p.code {
						t.Errorf("%s: code %d (answered %v), want %d", key, code, ok, p.code)
					}
				}

				var appended []txn.TopicPartition
				for _, a := range fake.appended() {
					want := txn.Marker{ProducerID: 4000, ProducerEpoch: 3, Commit: tt.commit, CoordinatorEpoch: 7}
					if a.m != want {
						t.Errorf("appended marker %+v, want %+v", a.m, want)
					}
					appended = append(appended, a.tp)
				}
				sortTPs := func(tps []txn.TopicPartition) {
					slices.SortFunc(tps, func(a, b txn.TopicPartition) int {
						return cmp.Or(strings.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
					})
				}
				sortTPs(appended)
				want := slices.Clone(tt.appended)
				sortTPs(want)
				if !slices.Equal(appended, want) {
					t.Errorf("appended to %v, want %v", appended, want)
				}
			})
		}
	}
}

// serveSecured serves s on another loopback listener through ServeListener
// (plaintext, with the server's authorizer) and returns its address. The
// listener stops when the test shuts the server down.
func serveSecured(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.ServeListener(ln, Listener{Name: "PLAINTEXT", Protocol: Plaintext}) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve secured listener: %v", err)
		}
	})
	return ln.Addr().String()
}
