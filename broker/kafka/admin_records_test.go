package kafka_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestAdminDeleteRecords(t *testing.T) {
	e := startAdminEnv(t, "")
	e.createTopic("trimmed", 2, nil)
	e.createTopic("compacted", 1, map[string]*string{"cleanup.policy": strp("compact")})
	e.produce("trimmed", 0, 20, 10)
	e.produce("trimmed", 1, 20, 10)
	e.produce("compacted", 0, 5, 10)
	tests := []struct {
		name      string
		topic     string
		partition int32
		at        int64
		wantErr   error
		wantLow   int64
	}{
		{"to an offset", "trimmed", 0, 7, nil, 7},
		{"below the start is a no-op", "trimmed", 0, 3, nil, 7},
		{"to the high watermark with -1", "trimmed", 1, -1, nil, 20},
		{"above the high watermark", "trimmed", 0, 21, kerr.OffsetOutOfRange, 7},
		{"negative", "trimmed", 0, -5, kerr.OffsetOutOfRange, 7},
		{"unknown partition", "trimmed", 9, 1, kerr.UnknownTopicOrPartition, -1},
		{"compacted topic", "compacted", 0, 1, kerr.PolicyViolation, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			var os kadm.Offsets
			os.Add(kadm.Offset{Topic: tt.topic, Partition: tt.partition, At: tt.at})
			resps, err := e.adm.DeleteRecords(ctx, os)
			if err != nil && tt.wantErr == nil {
				t.Fatal(err)
			}
			r, ok := resps.Lookup(tt.topic, tt.partition)
			if ok && !errIs(r.Err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", r.Err, tt.wantErr)
			}
			if !ok && tt.wantErr != kerr.UnknownTopicOrPartition {
				// kadm answers an unknown partition itself, from metadata.
				t.Fatalf("no answer for %s/%d (err %v)", tt.topic, tt.partition, err)
			}
			if tt.wantErr == nil && r.LowWatermark != tt.wantLow {
				t.Fatalf("low watermark %d, want %d", r.LowWatermark, tt.wantLow)
			}
			if tt.wantLow < 0 {
				return
			}
			starts, err := e.adm.ListStartOffsets(ctx, tt.topic)
			if err != nil {
				t.Fatal(err)
			}
			if o, _ := starts.Lookup(tt.topic, tt.partition); o.Offset != tt.wantLow {
				t.Fatalf("ListOffsets start %d, want %d", o.Offset, tt.wantLow)
			}
		})
	}

	// Raw, so the broker itself answers the unknown partition and topic.
	req := kmsg.NewPtrDeleteRecordsRequest()
	for _, tp := range []struct {
		topic string
		part  int32
	}{{"trimmed", 9}, {"missing", 0}} {
		rt := kmsg.NewDeleteRecordsRequestTopic()
		rt.Topic = tp.topic
		rp := kmsg.NewDeleteRecordsRequestTopicPartition()
		rp.Partition, rp.Offset = tp.part, 0
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
	}
	resp := e.request(req).(*kmsg.DeleteRecordsResponse)
	for _, st := range resp.Topics {
		p := st.Partitions[0]
		if err := kerr.ErrorForCode(p.ErrorCode); err != kerr.UnknownTopicOrPartition || p.LowWatermark != -1 {
			t.Errorf("%s/%d: err %v low %d, want UNKNOWN_TOPIC_OR_PARTITION and -1", st.Topic, p.Partition, err, p.LowWatermark)
		}
	}
}

func TestAdminDescribeCluster(t *testing.T) {
	e := startAdminEnv(t, "")
	tests := []struct {
		name     string
		version  int16
		endpoint int8
		authOps  bool
		wantErr  error
	}{
		{"v0", 0, 1, false, nil},
		{"v1 brokers with authorized operations", 1, 1, true, nil},
		{"v1 controllers", 1, 2, false, kerr.UnsupportedEndpointType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := kmsg.NewPtrDescribeClusterRequest()
			req.Version, req.EndpointType, req.IncludeClusterAuthorizedOperations = tt.version, tt.endpoint, tt.authOps
			resp := e.request(req).(*kmsg.DescribeClusterResponse)
			if err := kerr.ErrorForCode(resp.ErrorCode); !errIs(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				return
			}
			if resp.ClusterID != "admin-test-cluster" || resp.ControllerID != 1 || len(resp.Brokers) != 1 {
				t.Fatalf("cluster %q controller %d brokers %+v", resp.ClusterID, resp.ControllerID, resp.Brokers)
			}
			if b := resp.Brokers[0]; b.NodeID != 1 || fmt.Sprintf("%s:%d", b.Host, b.Port) != e.addr {
				t.Fatalf("broker %+v, want node 1 at %s", b, e.addr)
			}
			if tt.authOps != (resp.ClusterAuthorizedOperations != -2147483648) {
				t.Fatalf("authorized operations %d with include=%v", resp.ClusterAuthorizedOperations, tt.authOps)
			}
		})
	}
}

func TestAdminDescribeLogDirs(t *testing.T) {
	e := startAdminEnv(t, "")
	e.createTopic("sized", 2, nil)
	e.createTopic("other", 1, nil)
	e.produce("sized", 0, 10, 100)
	dirs, err := e.adm.DescribeAllLogDirs(testCtx(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	ds, ok := dirs[1]
	if !ok || len(ds) != 1 {
		t.Fatalf("log dirs %+v: want one on broker 1", dirs)
	}
	abs, _ := filepath.Abs(e.dataDir)
	d, ok := ds[abs]
	if !ok || d.Err != nil || d.TotalBytes <= 0 || d.UsableBytes <= 0 {
		t.Fatalf("dir %s: %+v", abs, ds)
	}
	p0, ok0 := ds.Lookup(abs, "sized", 0)
	p1, ok1 := ds.Lookup(abs, "sized", 1)
	_, okOther := ds.Lookup(abs, "other", 0)
	if !ok0 || !ok1 || !okOther {
		t.Fatalf("partitions missing: %+v", d.Topics)
	}
	if p0.Size < 10*100 || p1.Size != 0 || p0.OffsetLag != 0 {
		t.Fatalf("sized/0 %d bytes lag %d, sized/1 %d bytes: want >= 1000, 0 and 0", p0.Size, p0.OffsetLag, p1.Size)
	}

	// Asking for some partitions answers those hosted here only.
	some, err := e.adm.DescribeBrokerLogDirs(testCtx(t), 1, kadm.TopicsSet{"sized": {1: {}, 7: {}}, "missing": {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	some.EachPartition(func(p kadm.DescribedLogDirPartition) { got = append(got, fmt.Sprintf("%s/%d", p.Topic, p.Partition)) })
	if len(got) != 1 || got[0] != "sized/1" {
		t.Fatalf("partitions %v, want [sized/1]", got)
	}
}

// TestAdminRetentionChangeTakesEffect is the "done" check: a topic with
// small segments fills several of them; lowering retention.ms with kadm, without
// a restart, makes the broker delete the old segments and move the log start.
func TestAdminRetentionChangeTakesEffect(t *testing.T) {
	e := startAdminEnv(t, "")
	e.createTopic("aging", 1, map[string]*string{"segment.bytes": strp("1024")})
	e.produce("aging", 0, 60, 100)
	before := e.segmentFiles("aging", 0)
	if before < 3 {
		t.Fatalf("%d segments after 60 batches with segment.bytes=1024; want several", before)
	}
	ctx := testCtx(t)
	starts, err := e.adm.ListStartOffsets(ctx, "aging")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := starts.Lookup("aging", 0); o.Offset != 0 {
		t.Fatalf("start offset %d before the change, want 0", o.Offset)
	}

	resps, err := e.adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: strp("1")}}, "aging")
	if err == nil {
		_, err = resps.On("aging", func(r *kadm.AlterConfigsResponse) error { return r.Err })
	}
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, func() error {
		starts, err := e.adm.ListStartOffsets(ctx, "aging")
		if err != nil {
			return err
		}
		o, _ := starts.Lookup("aging", 0)
		if n := e.segmentFiles("aging", 0); o.Offset == 0 || n >= before {
			return fmt.Errorf("start offset %d, %d of %d segments left", o.Offset, n, before)
		}
		return nil
	})
	// Everything still readable ends where it did.
	ends, err := e.adm.ListEndOffsets(ctx, "aging")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := ends.Lookup("aging", 0); o.Offset != 60 {
		t.Fatalf("end offset %d, want 60", o.Offset)
	}
}

// TestAdminConfigChangeKeepsNonLogConfigs sets a non-log config (min.insync.replicas)
// beside retention.bytes: the retention must still apply, so the layer that
// turns topic configs into log configs must skip configs that are not log settings.
func TestAdminConfigChangeKeepsNonLogConfigs(t *testing.T) {
	e := startAdminEnv(t, "")
	e.createTopic("sized-retention", 1, map[string]*string{"segment.bytes": strp("1024"), "min.insync.replicas": strp("1")})
	e.produce("sized-retention", 0, 40, 100)
	before := e.segmentFiles("sized-retention", 0)
	ctx := testCtx(t)
	if _, err := e.adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.bytes", Value: strp("2048")}}, "sized-retention"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, func() error {
		starts, err := e.adm.ListStartOffsets(ctx, "sized-retention")
		if err != nil {
			return err
		}
		o, _ := starts.Lookup("sized-retention", 0)
		if n := e.segmentFiles("sized-retention", 0); o.Offset == 0 || n >= before {
			return fmt.Errorf("start offset %d, %d of %d segments left", o.Offset, n, before)
		}
		return nil
	})
}
