package kafka

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/record"
)

// corrupt returns a copy of b with one byte inside the CRC-covered part flipped.
func corrupt(b []byte) []byte {
	c := append([]byte{}, b...)
	c[len(c)-1] ^= 0xff
	return c
}

func TestProducePartitionAnswers(t *testing.T) {
	ts := newTestServer(t, nil)
	topic := ts.createTopic(t, "p", 2, map[string]string{"max.message.bytes": "2000"})
	ts.createTopic(t, "lat", 1, map[string]string{"message.timestamp.type": "LogAppendTime"})
	rc := dialRaw(t, ts.addr)

	big := batchOf(t, 0, 200, 1000, record.None) // well above 2000 bytes
	tests := []struct {
		name       string
		topic      string
		partition  int32
		version    int16
		records    []byte
		wantCode   int16
		wantOffset int64
	}{
		{"first write", "p", 0, 9, batchOf(t, 0, 5, 1000, record.None), 0, 0},
		{"second write continues", "p", 0, 3, batchOf(t, 5, 5, 1000, record.LZ4), 0, 5},
		{"other partition starts at zero", "p", 1, 7, batchOf(t, 0, 2, 1000, record.Zstd), 0, 0},
		{"bad CRC", "p", 0, 9, corrupt(batchOf(t, 0, 5, 1000, record.None)), kerr.CorruptMessage.Code, -1},
		{"truncated batch", "p", 0, 9, batchOf(t, 0, 5, 1000, record.None)[:40], kerr.CorruptMessage.Code, -1},
		{"too large", "p", 0, 9, big, kerr.MessageTooLarge.Code, -1},
		{"no records", "p", 0, 9, nil, kerr.InvalidRecord.Code, -1},
		{"unknown topic", "nope", 0, 9, batchOf(t, 0, 1, 1000, record.None), kerr.UnknownTopicOrPartition.Code, -1},
		{"unknown partition", "p", 5, 9, batchOf(t, 0, 1, 1000, record.None), kerr.UnknownTopicOrPartition.Code, -1},
		{"after the failures, offsets are unchanged", "p", 0, 9, batchOf(t, 10, 1, 1000, record.None), 0, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := rc.produce(tt.topic, tt.partition, tt.version, tt.records)
			if p.ErrorCode != tt.wantCode || p.BaseOffset != tt.wantOffset {
				t.Fatalf("error %d offset %d, want error %d offset %d", p.ErrorCode, p.BaseOffset, tt.wantCode, tt.wantOffset)
			}
			if tt.wantCode == 0 && (p.LogAppendTime != -1 || (tt.version >= 5 && p.LogStartOffset != 0)) {
				t.Fatalf("log append time %d, log start %d", p.LogAppendTime, p.LogStartOffset)
			}
			if tt.wantCode != 0 && tt.version >= 8 && p.ErrorMessage == nil {
				t.Fatal("no error message")
			}
		})
	}

	// LogAppendTime topics report the broker's time.
	before := time.Now().UnixMilli()
	p := rc.produce("lat", 0, 9, batchOf(t, 0, 3, 1000, record.None))
	if p.ErrorCode != 0 || p.LogAppendTime < before || p.LogAppendTime > time.Now().UnixMilli() {
		t.Fatalf("LogAppendTime topic: error %d append time %d (now %d)", p.ErrorCode, p.LogAppendTime, before)
	}

	// v13 names topics by id.
	req := kmsg.NewPtrProduceRequest()
	req.Version = 13
	req.Acks = 1
	req.Topics = []kmsg.ProduceRequestTopic{
		{TopicID: topic.ID, Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: 1, Records: batchOf(t, 0, 1, 1000, record.None)}}},
		{TopicID: [16]byte{1, 2, 3}, Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: 0, Records: batchOf(t, 0, 1, 1000, record.None)}}},
	}
	resp := rc.roundTrip(req).(*kmsg.ProduceResponse)
	if got := resp.Topics[0]; got.TopicID != topic.ID || got.Partitions[0].ErrorCode != 0 || got.Partitions[0].BaseOffset != 2 {
		t.Fatalf("v13 by id: %+v", got)
	}
	if got := resp.Topics[1].Partitions[0].ErrorCode; got != kerr.UnknownTopicID.Code {
		t.Fatalf("v13 unknown id: error %d", got)
	}

	// Invalid acks fail every partition.
	req = kmsg.NewPtrProduceRequest()
	req.Version = 9
	req.Acks = 2
	req.Topics = []kmsg.ProduceRequestTopic{{Topic: "p", Partitions: []kmsg.ProduceRequestTopicPartition{{Records: batchOf(t, 0, 1, 1000, record.None)}}}}
	if got := rc.roundTrip(req).(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode; got != kerr.InvalidRequiredAcks.Code {
		t.Fatalf("acks=2: error %d", got)
	}
}

func TestProduceAcksZero(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.createTopic(t, "z", 1, nil)
	rc := dialRaw(t, ts.addr)
	req := kmsg.NewPtrProduceRequest()
	req.Version = 9
	req.Acks = 0
	req.Topics = []kmsg.ProduceRequestTopic{{Topic: "z", Partitions: []kmsg.ProduceRequestTopicPartition{{Records: batchOf(t, 0, 4, 1000, record.None)}}}}
	rc.send(req)
	// No answer to acks=0: the next response on the connection is the metadata one.
	meta := metadataReq(12, false, "z")
	if resp := rc.receive(meta, rc.send(meta)).(*kmsg.MetadataResponse); resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("metadata after acks=0 produce: error %d", resp.Topics[0].ErrorCode)
	}
	p, err := ts.parts.Partition("z", 0)
	if err != nil {
		t.Fatal(err)
	}
	if hw := p.HighWatermark(); hw != 4 {
		t.Fatalf("acks=0 records not written: high watermark %d", hw)
	}
	// A failed acks=0 write closes the connection so the client refreshes metadata.
	req.Topics[0].Topic = "unknown-topic"
	rc.send(req)
	rc.expectClosed()
	ts.waitLog(t, "acks=0")
}
