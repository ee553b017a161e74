package kafka

import (
	"bytes"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/record"
)

// benchBatch is one uncompressed batch of 1000 records of about 100 bytes.
func benchBatch(b *testing.B) []byte {
	recs := make([]record.Record, 1000)
	for i := range recs {
		recs[i] = record.Record{OffsetDelta: int32(i), Key: []byte("key"), Value: bytes.Repeat([]byte{'x'}, 100)}
	}
	batch, err := record.Build(record.BatchSpec{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, BaseTimestamp: 1}, recs)
	if err != nil {
		b.Fatal(err)
	}
	return batch
}

// BenchmarkProduce measures acks=-1 produce round trips of one ~110 KB batch
// over loopback: framing, decoding, the log append and the response.
func BenchmarkProduce(b *testing.B) {
	ts := newTestServer(b, nil)
	ts.createTopic(b, "bench", 1, nil)
	rc := dialRaw(b, ts.addr)
	batch := benchBatch(b)
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks = 9, -1
	req.Topics = []kmsg.ProduceRequestTopic{{Topic: "bench", Partitions: []kmsg.ProduceRequestTopicPartition{{Records: batch}}}}
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if p := rc.roundTrip(req).(*kmsg.ProduceResponse).Topics[0].Partitions[0]; p.ErrorCode != 0 {
			b.Fatalf("produce error %d", p.ErrorCode)
		}
	}
}

// BenchmarkFetch measures 1 MiB fetches from a filled partition over loopback,
// the records sent from the segment file with sendfile.
func BenchmarkFetch(b *testing.B) {
	ts := newTestServer(b, nil)
	ts.createTopic(b, "bench", 1, nil)
	rc := dialRaw(b, ts.addr)
	batch := benchBatch(b)
	const batches = 200 // about 22 MB
	for range batches {
		rc.mustProduce("bench", 0, append([]byte(nil), batch...))
	}
	end := int64(batches * 1000)
	b.ReportAllocs()
	b.ResetTimer()
	var total int64
	offset := int64(0)
	for range b.N {
		req := fetchReq(12, "bench", [16]byte{}, 0, 1, 1<<20, 1<<20, map[int32]int64{0: offset})
		resp := rc.roundTrip(req).(*kmsg.FetchResponse)
		p := resp.Topics[0].Partitions[0]
		if p.ErrorCode != 0 || len(p.RecordBatches) == 0 {
			b.Fatalf("fetch at %d: error %d, %d bytes", offset, p.ErrorCode, len(p.RecordBatches))
		}
		total += int64(len(p.RecordBatches))
		offset += int64(len(p.RecordBatches)/len(batch)) * 1000
		if offset >= end {
			offset = 0
		}
	}
	b.SetBytes(total / int64(b.N))
}
