package kafka

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/record"
)

// TestSingleNodeAPIsAtEveryVersion sends each single-node API at every version
// ApiVersions advertises, non-flexible and flexible alike, over one raw
// connection, and checks the answer does what the request asked. Clients pick
// the highest version both sides know, so franz-go, librdkafka and kafkajs each
// land on a different one; a version whose encoding or handling is wrong fails
// here by name.
func TestSingleNodeAPIsAtEveryVersion(t *testing.T) {
	ts := newTestServer(t, nil)
	rc := dialRaw(t, ts.addr)
	data := ts.createTopic(t, "vm-data", 2, nil)
	served := map[int16]api{}
	for _, a := range apis() {
		served[a.Key] = a
	}

	type check func(t *testing.T, v int16)
	str := kmsg.StringPtr
	produced := int64(0) // records in vm-data partition 0
	checks := []struct {
		key int16
		run check
	}{
		{18, func(t *testing.T, v int16) {
			req := kmsg.NewPtrApiVersionsRequest()
			req.Version, req.ClientSoftwareName, req.ClientSoftwareVersion = v, "matrix", "1.0"
			resp := rc.roundTrip(req).(*kmsg.ApiVersionsResponse)
			if resp.ErrorCode != 0 || len(resp.ApiKeys) != len(served) {
				t.Fatalf("error %d, %d keys, want %d", resp.ErrorCode, len(resp.ApiKeys), len(served))
			}
		}},
		{3, func(t *testing.T, v int16) {
			name := fmt.Sprintf("vm-auto-%d", v)
			resp := rc.roundTrip(metadataReq(v, true, "vm-data", name)).(*kmsg.MetadataResponse)
			if len(resp.Brokers) != 1 || resp.Brokers[0].NodeID != testNode || len(resp.Topics) != 2 {
				t.Fatalf("brokers %+v, %d topics", resp.Brokers, len(resp.Topics))
			}
			for _, mt := range resp.Topics {
				wantParts := map[string]int{"vm-data": 2, name: 1}[*mt.Topic]
				if mt.ErrorCode != 0 || len(mt.Partitions) != wantParts {
					t.Fatalf("topic %s: error %d, %d partitions, want %d", *mt.Topic, mt.ErrorCode, len(mt.Partitions), wantParts)
				}
				if v >= 10 && *mt.Topic == "vm-data" && mt.TopicID != data.ID {
					t.Fatalf("topic id %x, want %x", mt.TopicID, data.ID)
				}
			}
		}},
		{0, func(t *testing.T, v int16) {
			req := kmsg.NewPtrProduceRequest()
			req.Version, req.Acks = v, -1
			rt := kmsg.ProduceRequestTopic{Topic: "vm-data", TopicID: data.ID}
			rt.Partitions = []kmsg.ProduceRequestTopicPartition{{Partition: 0, Records: batchOf(t, int(produced), 3, 1000, record.Gzip)}}
			req.Topics = []kmsg.ProduceRequestTopic{rt}
			resp := rc.roundTrip(req).(*kmsg.ProduceResponse)
			p := resp.Topics[0].Partitions[0]
			if p.ErrorCode != 0 || p.BaseOffset != produced {
				t.Fatalf("error %d at offset %d, want %d", p.ErrorCode, p.BaseOffset, produced)
			}
			produced += 3
		}},
		{1, func(t *testing.T, v int16) {
			req := fetchReq(v, "vm-data", data.ID, 0, 1, 1<<20, 1<<20, map[int32]int64{0: 1})
			fp := fetchPartitions(t, rc, req)[0]
			if fp.ErrorCode != 0 || fp.HighWatermark != produced {
				t.Fatalf("error %d, high watermark %d, want %d", fp.ErrorCode, fp.HighWatermark, produced)
			}
			// Offset 1 is inside the first batch: the whole batch comes back,
			// compressed as produced.
			hs := batchesIn(t, fp.RecordBatches)
			if int64(len(hs)) != produced/3 || hs[0].BaseOffset != 0 || hs[0].Compression() != record.Gzip {
				t.Fatalf("%d batches, first %+v; want %d gzip batches from offset 0", len(hs), hs[0], produced/3)
			}
		}},
		{2, func(t *testing.T, v int16) {
			for _, tc := range []struct{ ts, want int64 }{{-2, 0}, {-1, produced}, {1000, 0}} {
				req := kmsg.NewPtrListOffsetsRequest()
				req.Version, req.ReplicaID = v, -1
				rp := kmsg.NewListOffsetsRequestTopicPartition()
				rp.Partition, rp.Timestamp, rp.MaxNumOffsets = 0, tc.ts, 1
				req.Topics = []kmsg.ListOffsetsRequestTopic{{Topic: "vm-data", Partitions: []kmsg.ListOffsetsRequestTopicPartition{rp}}}
				p := rc.roundTrip(req).(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0]
				if p.ErrorCode != 0 || p.Offset != tc.want {
					t.Fatalf("timestamp %d: error %d offset %d, want %d", tc.ts, p.ErrorCode, p.Offset, tc.want)
				}
			}
		}},
		{19, func(t *testing.T, v int16) {
			for _, validate := range []bool{true, false} {
				if validate && v == 0 {
					continue // validate-only is v1+
				}
				req := kmsg.NewPtrCreateTopicsRequest()
				req.Version, req.TimeoutMillis, req.ValidateOnly = v, 5000, validate
				rt := kmsg.NewCreateTopicsRequestTopic()
				rt.Topic, rt.NumPartitions, rt.ReplicationFactor = fmt.Sprintf("vm-create-%d", v), 3, 1
				rt.Configs = []kmsg.CreateTopicsRequestTopicConfig{{Name: "retention.ms", Value: str("60000")}}
				req.Topics = []kmsg.CreateTopicsRequestTopic{rt}
				ct := rc.roundTrip(req).(*kmsg.CreateTopicsResponse).Topics[0]
				if ct.ErrorCode != 0 || (v >= 5 && ct.NumPartitions != 3) || (v >= 7 && !validate && ct.TopicID == [16]byte{}) {
					t.Fatalf("validate-only %v: %+v", validate, ct)
				}
				if _, exists := ts.meta.Snapshot().Topics[rt.Topic]; exists == validate {
					t.Fatalf("validate-only %v: topic exists = %v", validate, exists)
				}
			}
		}},
		{37, func(t *testing.T, v int16) {
			name := fmt.Sprintf("vm-grow-%d", v)
			ts.createTopic(t, name, 1, nil)
			req := kmsg.NewPtrCreatePartitionsRequest()
			req.Version, req.TimeoutMillis = v, 5000
			req.Topics = []kmsg.CreatePartitionsRequestTopic{{Topic: name, Count: 3}}
			if ec := rc.roundTrip(req).(*kmsg.CreatePartitionsResponse).Topics[0].ErrorCode; ec != 0 {
				t.Fatalf("error %d", ec)
			}
			if n := len(ts.meta.Snapshot().Topics[name].Partitions); n != 3 {
				t.Fatalf("%d partitions after CreatePartitions, want 3", n)
			}
		}},
		{20, func(t *testing.T, v int16) {
			name := fmt.Sprintf("vm-delete-%d", v)
			topic := ts.createTopic(t, name, 1, nil)
			req := kmsg.NewPtrDeleteTopicsRequest()
			req.Version, req.TimeoutMillis = v, 5000
			if v >= 6 {
				req.Topics = []kmsg.DeleteTopicsRequestTopic{{TopicID: topic.ID}}
			} else {
				req.TopicNames = []string{name}
			}
			if ec := rc.roundTrip(req).(*kmsg.DeleteTopicsResponse).Topics[0].ErrorCode; ec != 0 {
				t.Fatalf("error %d", ec)
			}
			if _, exists := ts.meta.Snapshot().Topics[name]; exists {
				t.Fatal("topic still exists")
			}
		}},
		{33, func(t *testing.T, v int16) {
			req := kmsg.NewPtrAlterConfigsRequest()
			req.Version = v
			req.Resources = []kmsg.AlterConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "vm-data",
				Configs: []kmsg.AlterConfigsRequestResourceConfig{{Name: "retention.ms", Value: str(fmt.Sprint(100000 + int(v)))}}}}
			if ec := rc.roundTrip(req).(*kmsg.AlterConfigsResponse).Resources[0].ErrorCode; ec != 0 {
				t.Fatalf("error %d", ec)
			}
			if got := ts.meta.Snapshot().Topics["vm-data"].Configs["retention.ms"]; got != fmt.Sprint(100000+int(v)) {
				t.Fatalf("retention.ms = %q after AlterConfigs", got)
			}
		}},
		{44, func(t *testing.T, v int16) {
			req := kmsg.NewPtrIncrementalAlterConfigsRequest()
			req.Version = v
			req.Resources = []kmsg.IncrementalAlterConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "vm-data",
				Configs: []kmsg.IncrementalAlterConfigsRequestResourceConfig{{Name: "segment.bytes", Op: kmsg.IncrementalAlterConfigOpSet, Value: str(fmt.Sprint(1<<20 + int(v)))}}}}
			if ec := rc.roundTrip(req).(*kmsg.IncrementalAlterConfigsResponse).Resources[0].ErrorCode; ec != 0 {
				t.Fatalf("error %d", ec)
			}
			if got := ts.meta.Snapshot().Topics["vm-data"].Configs["segment.bytes"]; got != fmt.Sprint(1<<20+int(v)) {
				t.Fatalf("segment.bytes = %q after IncrementalAlterConfigs", got)
			}
		}},
		{32, func(t *testing.T, v int16) {
			req := kmsg.NewPtrDescribeConfigsRequest()
			req.Version, req.IncludeSynonyms = v, v >= 1
			req.Resources = []kmsg.DescribeConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "vm-data", ConfigNames: []string{"retention.ms", "segment.bytes"}}}
			res := rc.roundTrip(req).(*kmsg.DescribeConfigsResponse).Resources[0]
			got := map[string]string{}
			for _, c := range res.Configs {
				if c.Value != nil {
					got[c.Name] = *c.Value
				}
			}
			want := ts.meta.Snapshot().Topics["vm-data"].Configs
			if res.ErrorCode != 0 || got["retention.ms"] != want["retention.ms"] || got["segment.bytes"] != want["segment.bytes"] || len(got) != 2 {
				t.Fatalf("error %d, configs %v, want retention.ms and segment.bytes of %v", res.ErrorCode, got, want)
			}
		}},
		{21, func(t *testing.T, v int16) {
			req := kmsg.NewPtrDeleteRecordsRequest()
			req.Version, req.TimeoutMillis = v, 5000
			req.Topics = []kmsg.DeleteRecordsRequestTopic{{Topic: "vm-data", Partitions: []kmsg.DeleteRecordsRequestTopicPartition{{Partition: 1, Offset: -1}}}}
			// Partition 1 gets one record per version; deleting to the high
			// watermark (-1) moves its start there.
			rc.mustProduce("vm-data", 1, batchOf(t, int(v), 1, 1000, record.None))
			p := rc.roundTrip(req).(*kmsg.DeleteRecordsResponse).Topics[0].Partitions[0]
			if want := int64(v) + 1; p.ErrorCode != 0 || p.LowWatermark != want {
				t.Fatalf("error %d low watermark %d, want %d", p.ErrorCode, p.LowWatermark, want)
			}
		}},
		{60, func(t *testing.T, v int16) {
			req := kmsg.NewPtrDescribeClusterRequest()
			req.Version = v
			if v >= 1 {
				req.EndpointType = 1 // brokers
			}
			resp := rc.roundTrip(req).(*kmsg.DescribeClusterResponse)
			if resp.ErrorCode != 0 || resp.ClusterID != "test-cluster" || len(resp.Brokers) != 1 || resp.Brokers[0].NodeID != testNode {
				t.Fatalf("error %d cluster %q brokers %+v", resp.ErrorCode, resp.ClusterID, resp.Brokers)
			}
		}},
		{35, func(t *testing.T, v int16) {
			req := kmsg.NewPtrDescribeLogDirsRequest()
			req.Version = v
			req.Topics = []kmsg.DescribeLogDirsRequestTopic{{Topic: "vm-data", Partitions: []int32{0}}}
			resp := rc.roundTrip(req).(*kmsg.DescribeLogDirsResponse)
			if len(resp.Dirs) != 1 || resp.Dirs[0].ErrorCode != 0 || len(resp.Dirs[0].Topics) != 1 {
				t.Fatalf("dirs %+v", resp.Dirs)
			}
			p := resp.Dirs[0].Topics[0].Partitions
			if len(p) != 1 || p[0].Partition != 0 || p[0].Size <= 0 {
				t.Fatalf("vm-data partitions %+v, want partition 0 with its size", p)
			}
		}},
	}
	for _, c := range checks {
		a, ok := served[c.key]
		if !ok {
			t.Fatalf("api %d is not served", c.key)
		}
		for v := a.MinVersion; v <= a.MaxVersion; v++ {
			t.Run(fmt.Sprintf("%s/v%d", kmsg.NameForKey(c.key), v), func(t *testing.T) { c.run(t, v) })
		}
	}
}
