package kafka

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/record"
)

// TestHeldAnswersAreWritten sends bursts of pipelined produce requests in one
// write, so the reader finds each next request already buffered and holds
// answers back to write them together (conn.send), and checks that no answer
// stays held when what follows could keep it waiting: a long-poll fetch that
// only an append on another connection ends, an acks=0 produce that gets no
// answer, or nothing at all. A held answer would never arrive within the raw
// client's read deadline.
func TestHeldAnswersAreWritten(t *testing.T) {
	produce := func(t *testing.T, acks int16) *kmsg.ProduceRequest {
		p := kmsg.NewPtrProduceRequest()
		p.Version, p.Acks = 9, acks
		p.Topics = []kmsg.ProduceRequestTopic{{Topic: "held", Partitions: []kmsg.ProduceRequestTopicPartition{
			{Records: batchOf(t, 0, 3, 1, record.None)}}}}
		return p
	}
	for _, tc := range []struct {
		name string
		last string // what follows the acks=1 produces: "", "acks0" or "fetch"
	}{
		{"produces only", ""},
		{"then acks=0 produce", "acks0"},
		{"then long-poll fetch", "fetch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, nil)
			ts.createTopic(t, "held", 1, nil)
			rc := dialRaw(t, ts.addr)
			const n = 20
			format := kmsg.NewRequestFormatter(kmsg.FormatterClientID("raw-test"))
			var burst []byte
			var reqs []kmsg.Request
			var corrs []int32
			add := func(req kmsg.Request) {
				rc.corr++
				// One request at a time: AppendRequest sizes a frame from
				// the start of dst.
				burst = append(burst, format.AppendRequest(nil, req, rc.corr)...)
				reqs, corrs = append(reqs, req), append(corrs, rc.corr)
			}
			for range n {
				add(produce(t, 1))
			}
			switch tc.last {
			case "acks0":
				add(produce(t, 0))
			case "fetch":
				// Waits far longer than the client's read deadline unless
				// an append wakes it: 3 records per produce, n+1 produces.
				add(fetchReq(12, "held", [16]byte{}, 600_000, 1, 1<<20, 1<<20, map[int32]int64{0: 3 * n}))
			}
			rc.write(burst)
			for i := range n {
				resp := rc.receive(reqs[i], corrs[i]).(*kmsg.ProduceResponse)
				if p := resp.Topics[0].Partitions[0]; p.ErrorCode != 0 || p.BaseOffset != int64(3*i) {
					t.Fatalf("answer %d: error %d, base offset %d, want 0 and %d", i, p.ErrorCode, p.BaseOffset, 3*i)
				}
			}
			switch tc.last {
			case "acks0":
				// The acks=0 records were written (and the connection is
				// still served): the next answer is at offset 3n+3.
				resp := rc.roundTrip(produce(t, 1)).(*kmsg.ProduceResponse)
				if p := resp.Topics[0].Partitions[0]; p.ErrorCode != 0 || p.BaseOffset != 3*n+3 {
					t.Fatalf("after acks=0: error %d, base offset %d, want 0 and %d", p.ErrorCode, p.BaseOffset, 3*n+3)
				}
			case "fetch":
				dialRaw(t, ts.addr).mustProduce("held", 0, batchOf(t, 0, 3, 1, record.None))
				resp := rc.receive(reqs[n], corrs[n]).(*kmsg.FetchResponse)
				if p := resp.Topics[0].Partitions[0]; p.ErrorCode != 0 || len(p.RecordBatches) == 0 {
					t.Fatalf("fetch: error %d with %d bytes", p.ErrorCode, len(p.RecordBatches))
				}
			}
		})
	}
}
