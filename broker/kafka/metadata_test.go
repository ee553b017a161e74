package kafka

import (
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func metadataReq(version int16, allowCreate bool, topics ...string) *kmsg.MetadataRequest {
	req := kmsg.NewPtrMetadataRequest()
	req.Version = version
	req.AllowAutoTopicCreation = allowCreate
	if topics != nil {
		req.Topics = []kmsg.MetadataRequestTopic{}
	}
	for _, name := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(name)
		req.Topics = append(req.Topics, rt)
	}
	return req
}

func TestMetadataAutoCreate(t *testing.T) {
	tests := []struct {
		name        string
		serverAuto  bool
		partitions  int32
		version     int16
		allowCreate bool
		topic       string
		wantCode    int16
		wantParts   int
	}{
		{"allowed by request and broker", true, 1, 12, true, "auto-a", 0, 1},
		{"num.partitions applies", true, 4, 9, true, "auto-b", 0, 4},
		{"pre-v4 always asks to create", true, 1, 3, false, "auto-c", 0, 1},
		{"request disallows", true, 1, 12, false, "auto-d", kerr.UnknownTopicOrPartition.Code, 0},
		{"broker disallows", false, 1, 12, true, "auto-e", kerr.UnknownTopicOrPartition.Code, 0},
		{"invalid characters", true, 1, 12, true, "bad name!", kerr.InvalidTopicException.Code, 0},
		{"dot", true, 1, 12, true, ".", kerr.InvalidTopicException.Code, 0},
		{"dot dot", true, 1, 12, true, "..", kerr.InvalidTopicException.Code, 0},
		{"too long", true, 1, 12, true, strings.Repeat("x", 250), kerr.InvalidTopicException.Code, 0},
		{"empty", true, 1, 12, true, "", kerr.InvalidTopicException.Code, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, func(c *Config) { c.AutoCreateTopics, c.NumPartitions = tt.serverAuto, tt.partitions })
			rc := dialRaw(t, ts.addr)
			resp := rc.roundTrip(metadataReq(tt.version, tt.allowCreate, tt.topic)).(*kmsg.MetadataResponse)
			if len(resp.Topics) != 1 {
				t.Fatalf("%d topics", len(resp.Topics))
			}
			mt := resp.Topics[0]
			if mt.ErrorCode != tt.wantCode || len(mt.Partitions) != tt.wantParts {
				t.Fatalf("error %d with %d partitions, want %d with %d", mt.ErrorCode, len(mt.Partitions), tt.wantCode, tt.wantParts)
			}
			_, exists := ts.meta.Snapshot().Topics[tt.topic]
			if exists != (tt.wantCode == 0) {
				t.Fatalf("topic exists = %v after the request", exists)
			}
			if tt.wantCode != 0 {
				return
			}
			if tt.version >= 10 && mt.TopicID == ([16]byte{}) {
				t.Fatal("created topic has no id")
			}
			for i, p := range mt.Partitions {
				if p.Partition != int32(i) || p.Leader != testNode || p.ErrorCode != 0 ||
					len(p.Replicas) != 1 || len(p.ISR) != 1 {
					t.Fatalf("partition %+v", p)
				}
			}
			// The created partitions are served at once.
			if _, err := ts.parts.Partition(tt.topic, 0); err != nil {
				t.Fatalf("auto-created partition not open: %v", err)
			}
		})
	}
}

func TestMetadataConcurrentAutoCreate(t *testing.T) {
	ts := newTestServer(t, nil)
	const clients = 8
	ids := make([][16]byte, clients)
	codes := make([]int16, clients)
	var wg sync.WaitGroup
	for i := range clients {
		rc := dialRaw(t, ts.addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := rc.roundTrip(metadataReq(12, true, "raced")).(*kmsg.MetadataResponse)
			ids[i], codes[i] = resp.Topics[0].TopicID, resp.Topics[0].ErrorCode
		}()
	}
	wg.Wait()
	for i := range clients {
		if codes[i] != 0 || ids[i] != ids[0] {
			t.Fatalf("client %d: error %d id %x, first id %x", i, codes[i], ids[i], ids[0])
		}
	}
}

func TestMetadataListing(t *testing.T) {
	ts := newTestServer(t, nil)
	b := ts.createTopic(t, "b-topic", 2, nil)
	ts.createTopic(t, "a-topic", 1, nil)
	ts.createTopic(t, "__internal", 1, nil)
	rc := dialRaw(t, ts.addr)
	_, portStr, _ := net.SplitHostPort(ts.addr)
	port, _ := strconv.Atoi(portStr)

	names := func(resp *kmsg.MetadataResponse) []string {
		var out []string
		for _, mt := range resp.Topics {
			out = append(out, *mt.Topic)
		}
		return out
	}
	for _, v := range []int16{0, 1, 4, 9, 10, 12, 13} {
		var req *kmsg.MetadataRequest
		if v == 0 {
			req = metadataReq(v, false, []string{}...) // v0: empty means all
			req.Topics = []kmsg.MetadataRequestTopic{}
		} else {
			req = metadataReq(v, false) // null: all
		}
		resp := rc.roundTrip(req).(*kmsg.MetadataResponse)
		if got := strings.Join(names(resp), ","); got != "__internal,a-topic,b-topic" {
			t.Fatalf("v%d: topics %s", v, got)
		}
		if len(resp.Brokers) != 1 || resp.Brokers[0].NodeID != testNode || resp.Brokers[0].Host != "127.0.0.1" || resp.Brokers[0].Port != int32(port) {
			t.Fatalf("v%d: brokers %+v", v, resp.Brokers)
		}
		if v >= 1 && resp.ControllerID != testNode {
			t.Fatalf("v%d: controller %d", v, resp.ControllerID)
		}
		if v >= 2 && (resp.ClusterID == nil || *resp.ClusterID != "test-cluster") {
			t.Fatalf("v%d: cluster id %v", v, resp.ClusterID)
		}
		if v >= 1 && !resp.Topics[0].IsInternal {
			t.Fatalf("v%d: __internal not marked internal", v)
		}
		if v >= 10 && resp.Topics[2].TopicID != b.ID {
			t.Fatalf("v%d: topic id %x, want %x", v, resp.Topics[2].TopicID, b.ID)
		}
	}

	// v1+: an empty list means no topics.
	if resp := rc.roundTrip(metadataReq(12, false, []string{}...)).(*kmsg.MetadataResponse); len(resp.Topics) != 0 {
		t.Fatalf("empty topic list answered %d topics", len(resp.Topics))
	}

	// By id (v10+): a known id and an unknown one.
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 12
	req.Topics = []kmsg.MetadataRequestTopic{{TopicID: b.ID}, {TopicID: [16]byte{9, 9}}}
	resp := rc.roundTrip(req).(*kmsg.MetadataResponse)
	if len(resp.Topics) != 2 {
		t.Fatalf("%d topics", len(resp.Topics))
	}
	if resp.Topics[0].ErrorCode != 0 || resp.Topics[0].Topic == nil || *resp.Topics[0].Topic != "b-topic" || len(resp.Topics[0].Partitions) != 2 {
		t.Fatalf("by id: %+v", resp.Topics[0])
	}
	if resp.Topics[1].ErrorCode != kerr.UnknownTopicID.Code {
		t.Fatalf("unknown id: error %d", resp.Topics[1].ErrorCode)
	}

	// Authorized operations are reported when asked for.
	req = metadataReq(12, false, "a-topic")
	req.IncludeTopicAuthorizedOperations = true
	resp = rc.roundTrip(req).(*kmsg.MetadataResponse)
	if resp.Topics[0].AuthorizedOperations != topicAuthorizedOperations {
		t.Fatalf("authorized operations %b", resp.Topics[0].AuthorizedOperations)
	}
}
