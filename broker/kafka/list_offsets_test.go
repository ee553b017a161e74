package kafka

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/record"
)

func listOffsets(t *testing.T, rc *rawClient, version int16, topic string, ts int64, isolation int8) kmsg.ListOffsetsResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	req.Version = version
	req.IsolationLevel = isolation
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Timestamp = ts
	req.Topics = []kmsg.ListOffsetsRequestTopic{{Topic: topic, Partitions: []kmsg.ListOffsetsRequestTopicPartition{rp}}}
	resp := rc.roundTrip(req).(*kmsg.ListOffsetsResponse)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("list offsets response shape: %+v", resp)
	}
	return resp.Topics[0].Partitions[0]
}

func TestListOffsets(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.createTopic(t, "lo", 1, nil)
	ts.createTopic(t, "empty", 1, nil)
	rc := dialRaw(t, ts.addr)
	// Offsets 0-9 at t=1000, 10-19 at t=5000, 20-29 at t=3000.
	for i, stamp := range []int64{1000, 5000, 3000} {
		rc.mustProduce("lo", 0, batchOf(t, i*10, 10, stamp, record.Snappy))
	}
	tests := []struct {
		name           string
		topic          string
		ts             int64
		isolation      int8
		wantCode       int16
		wantOffset     int64 // -2: any offset in [wantLo, wantHi]
		wantLo, wantHi int64
		wantTS         int64
	}{
		{name: "earliest", topic: "lo", ts: -2, wantOffset: 0, wantTS: -1},
		{name: "latest", topic: "lo", ts: -1, wantOffset: 30, wantTS: -1},
		{name: "latest read_committed", topic: "lo", ts: -1, isolation: 1, wantOffset: 30, wantTS: -1},
		{name: "earliest local", topic: "lo", ts: -4, wantOffset: 0, wantTS: -1},
		{name: "latest tiered: no tiers", topic: "lo", ts: -5, wantOffset: -1, wantTS: -1},
		{name: "max timestamp", topic: "lo", ts: -3, wantOffset: -2, wantLo: 10, wantHi: 19, wantTS: 5000},
		{name: "by time before everything", topic: "lo", ts: 0, wantOffset: 0, wantTS: 1000},
		{name: "by time between batches", topic: "lo", ts: 2000, wantOffset: 10, wantTS: 5000},
		{name: "by time exact", topic: "lo", ts: 5000, wantOffset: 10, wantTS: 5000},
		{name: "by time after everything", topic: "lo", ts: 6000, wantOffset: -1, wantTS: -1},
		{name: "empty log latest", topic: "empty", ts: -1, wantOffset: 0, wantTS: -1},
		{name: "empty log max timestamp", topic: "empty", ts: -3, wantOffset: -1, wantTS: -1},
		{name: "empty log by time", topic: "empty", ts: 10, wantOffset: -1, wantTS: -1},
		{name: "unknown topic", topic: "nope", ts: -1, wantCode: kerr.UnknownTopicOrPartition.Code, wantOffset: -1, wantTS: -1},
		{name: "unknown special timestamp", topic: "lo", ts: -9, wantCode: kerr.InvalidRequest.Code, wantOffset: -1, wantTS: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, v := range []int16{1, 4, 6, 7, 10} {
				if tt.ts == -3 && v < 7 || tt.ts <= -4 && tt.ts >= -5 && v < 8 {
					continue // the special timestamp needs a newer version
				}
				p := listOffsets(t, rc, v, tt.topic, tt.ts, tt.isolation)
				if p.ErrorCode != tt.wantCode {
					t.Fatalf("v%d: error %d, want %d", v, p.ErrorCode, tt.wantCode)
				}
				if tt.wantOffset == -2 {
					if p.Offset < tt.wantLo || p.Offset > tt.wantHi {
						t.Fatalf("v%d: offset %d, want in [%d, %d]", v, p.Offset, tt.wantLo, tt.wantHi)
					}
				} else if p.Offset != tt.wantOffset {
					t.Fatalf("v%d: offset %d, want %d", v, p.Offset, tt.wantOffset)
				}
				if p.Timestamp != tt.wantTS {
					t.Fatalf("v%d: timestamp %d, want %d", v, p.Timestamp, tt.wantTS)
				}
				if v >= 4 && tt.wantCode == 0 && p.LeaderEpoch < 0 {
					t.Fatalf("v%d: no leader epoch", v)
				}
			}
		})
	}

	// Earliest follows the log start offset.
	part, err := ts.parts.Partition("lo", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := part.Log().AdvanceStartOffset(10); err != nil {
		t.Fatal(err)
	}
	if p := listOffsets(t, rc, 7, "lo", -2, 0); p.ErrorCode != 0 || p.Offset != 10 {
		t.Fatalf("earliest after advancing the start: error %d offset %d", p.ErrorCode, p.Offset)
	}
}
