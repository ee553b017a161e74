package kafka

import (
	"bytes"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/record"
)

// TestPipelinedAnswersKeepOrder sends a burst of requests without waiting,
// mixing large fetches (sent by the writer goroutine with sendfile) with small
// produce and metadata requests (which the reader answers itself when the
// writer is idle), and checks every answer arrives complete and in request order.
func TestPipelinedAnswersKeepOrder(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.createTopic(t, "order", 1, nil)
	rc := dialRaw(t, ts.addr)
	// About 220 KB of records: a fetch of all of them goes through sendfile.
	recs := make([]record.Record, 2000)
	for i := range recs {
		recs[i] = record.Record{OffsetDelta: int32(i), Value: bytes.Repeat([]byte{'v'}, 100)}
	}
	batch, err := record.Build(record.BatchSpec{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, BaseTimestamp: 1}, recs)
	if err != nil {
		t.Fatal(err)
	}
	rc.mustProduce("order", 0, append([]byte(nil), batch...))

	type sent struct {
		req  kmsg.Request
		corr int32
	}
	var burst []sent
	for i := range 30 {
		var req kmsg.Request
		switch i % 3 {
		case 0:
			req = fetchReq(12, "order", [16]byte{}, 0, 1, 4<<20, 4<<20, map[int32]int64{0: 0})
		case 1:
			p := kmsg.NewPtrProduceRequest()
			p.Version, p.Acks = 9, 1
			p.Topics = []kmsg.ProduceRequestTopic{{Topic: "order", Partitions: []kmsg.ProduceRequestTopicPartition{
				{Records: batchOf(t, 0, 3, 1, record.None)}}}}
			req = p
		default:
			m := kmsg.NewPtrMetadataRequest()
			m.Version = 9
			req = m
		}
		burst = append(burst, sent{req, rc.send(req)})
	}
	for i, s := range burst {
		switch resp := rc.receive(s.req, s.corr).(type) {
		case *kmsg.FetchResponse:
			p := resp.Topics[0].Partitions[0]
			if p.ErrorCode != 0 || len(p.RecordBatches) < len(batch) {
				t.Fatalf("answer %d: fetch error %d with %d bytes, want at least %d", i, p.ErrorCode, len(p.RecordBatches), len(batch))
			}
		case *kmsg.ProduceResponse:
			if p := resp.Topics[0].Partitions[0]; p.ErrorCode != 0 {
				t.Fatalf("answer %d: produce error %d", i, p.ErrorCode)
			}
		case *kmsg.MetadataResponse:
			if len(resp.Brokers) == 0 {
				t.Fatalf("answer %d: metadata without brokers", i)
			}
		}
	}
}
