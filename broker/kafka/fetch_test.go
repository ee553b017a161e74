package kafka

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/cluster"
	"github.com/tributary-io/tributary/broker/record"
)

// fetchReq builds a fetch of one offset per partition of topic.
func fetchReq(version int16, topic string, id [16]byte, maxWait, minBytes, maxBytes, partMax int32, offsets map[int32]int64) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.Version = version
	req.MaxWaitMillis, req.MinBytes, req.MaxBytes = maxWait, minBytes, maxBytes
	req.SessionEpoch = -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = topic, id
	for p := int32(0); p < int32(len(offsets)); p++ {
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = p, offsets[p], partMax
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = []kmsg.FetchRequestTopic{rt}
	return req
}

// waitParked polls until a fetch watches topic/partition.
func waitParked(t *testing.T, ts *testServer, topic string, partition int32) {
	t.Helper()
	p, err := ts.parts.Partition(topic, partition)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for p.NumWaiters() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no fetch parked on %s/%d", topic, partition)
		}
		time.Sleep(time.Millisecond)
	}
}

// batchesIn splits fetched record bytes into batch headers.
func batchesIn(t *testing.T, b []byte) []record.Header {
	t.Helper()
	var out []record.Header
	for len(b) > 0 {
		batch, rest, h, err := record.Next(b)
		if err != nil {
			t.Fatalf("fetched bytes do not split into batches: %v", err)
		}
		if _, err := record.Validate(batch); err != nil {
			t.Fatalf("fetched batch invalid: %v", err)
		}
		out = append(out, h)
		b = rest
	}
	return out
}

func fetchPartitions(t *testing.T, rc *rawClient, req *kmsg.FetchRequest) []kmsg.FetchResponseTopicPartition {
	t.Helper()
	resp := rc.roundTrip(req).(*kmsg.FetchResponse)
	if resp.ErrorCode != 0 || resp.SessionID != 0 {
		t.Fatalf("fetch error %d session %d", resp.ErrorCode, resp.SessionID)
	}
	if len(resp.Topics) != 1 {
		t.Fatalf("%d topics in fetch response", len(resp.Topics))
	}
	return resp.Topics[0].Partitions
}

func TestFetchLongPollWokenByAppend(t *testing.T) {
	ts := newTestServer(t, nil)
	topic := ts.createTopic(t, "poll", 3, nil)
	producer := dialRaw(t, ts.addr)
	for _, v := range []int16{4, 11, 12, 13, 17} {
		consumer := dialRaw(t, ts.addr)
		end := map[int32]int64{}
		for p := range int32(3) {
			hw, _ := ts.parts.Partition("poll", p)
			end[p] = hw.HighWatermark()
		}
		req := fetchReq(v, "poll", topic.ID, 20_000, 1, 1<<20, 1<<20, end)
		start := time.Now()
		corr := consumer.send(req)
		// The fetch waits on all three partitions; an append to the last wakes it.
		waitParked(t, ts, "poll", 0)
		producer.mustProduce("poll", 2, batchOf(t, 0, 3, 1000, record.None))
		resp := consumer.receive(req, corr).(*kmsg.FetchResponse)
		if took := time.Since(start); took > 10*time.Second {
			t.Fatalf("v%d: fetch took %v, the append should have woken it", v, took)
		}
		parts := resp.Topics[0].Partitions
		if len(parts) != 3 {
			t.Fatalf("v%d: %d partitions", v, len(parts))
		}
		if got := batchesIn(t, parts[2].RecordBatches); len(got) != 1 || got[0].BaseOffset != end[2] || got[0].NumRecords != 3 {
			t.Fatalf("v%d: woken fetch returned %+v", v, got)
		}
		if parts[2].HighWatermark != end[2]+3 || parts[2].LastStableOffset != end[2]+3 || (v >= 5 && parts[2].LogStartOffset != 0) {
			t.Fatalf("v%d: offsets hw=%d lso=%d start=%d", v, parts[2].HighWatermark, parts[2].LastStableOffset, parts[2].LogStartOffset)
		}
		if v >= 13 && resp.Topics[0].TopicID != topic.ID {
			t.Fatalf("v%d: response topic id %x", v, resp.Topics[0].TopicID)
		}
	}
}

func TestFetchMinBytesAndMaxWait(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.createTopic(t, "minb", 1, nil)
	rc := dialRaw(t, ts.addr)
	rc.mustProduce("minb", 0, batchOf(t, 0, 1, 1000, record.None))

	// MinBytes not reached: the fetch waits MaxWait and returns what there is.
	start := time.Now()
	parts := fetchPartitions(t, rc, fetchReq(12, "minb", [16]byte{}, 300, 1<<20, 1<<20, 1<<20, map[int32]int64{0: 0}))
	if took := time.Since(start); took < 250*time.Millisecond {
		t.Fatalf("fetch with MinBytes unmet returned after %v, before MaxWait", took)
	}
	if got := batchesIn(t, parts[0].RecordBatches); len(got) != 1 {
		t.Fatalf("expired fetch returned %d batches, want the 1 available", len(got))
	}

	// MinBytes met by data already there: immediate.
	start = time.Now()
	parts = fetchPartitions(t, rc, fetchReq(12, "minb", [16]byte{}, 20_000, 1, 1<<20, 1<<20, map[int32]int64{0: 0}))
	if took := time.Since(start); took > 5*time.Second || len(parts[0].RecordBatches) == 0 {
		t.Fatalf("fetch with data took %v and returned %d bytes", took, len(parts[0].RecordBatches))
	}

	// MinBytes 0 or MaxWait 0 answer at once even with nothing to return.
	for _, req := range []*kmsg.FetchRequest{
		fetchReq(12, "minb", [16]byte{}, 20_000, 0, 1<<20, 1<<20, map[int32]int64{0: 1}),
		fetchReq(12, "minb", [16]byte{}, 0, 1, 1<<20, 1<<20, map[int32]int64{0: 1}),
	} {
		start = time.Now()
		parts = fetchPartitions(t, rc, req)
		if took := time.Since(start); took > 5*time.Second || len(parts[0].RecordBatches) != 0 || parts[0].ErrorCode != 0 {
			t.Fatalf("empty fetch took %v, %d bytes, error %d", took, len(parts[0].RecordBatches), parts[0].ErrorCode)
		}
	}
}

func TestFetchByteLimits(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.createTopic(t, "limits", 2, nil)
	rc := dialRaw(t, ts.addr)
	var sizes []int
	for i := range 5 {
		b := batchOf(t, i*10, 10, 1000, record.None)
		sizes = append(sizes, len(b))
		rc.mustProduce("limits", 0, b)
		rc.mustProduce("limits", 1, batchOf(t, i*10, 10, 1000, record.None))
	}
	both := map[int32]int64{0: 0, 1: 0}
	total := 0
	for _, n := range sizes {
		total += n
	}
	tests := []struct {
		name              string
		maxBytes, partMax int32
		want0, want1      int // batches from each partition
	}{
		{"everything fits", 1 << 20, 1 << 20, 5, 5},
		{"request MaxBytes spent on the first partition", int32(sizes[0] + sizes[1] + sizes[2]), 1 << 20, 3, 0},
		{"per-partition MaxBytes", 1 << 20, int32(sizes[0] + sizes[1]), 2, 2},
		{"first batch larger than MaxBytes is still sent (KIP-74)", 10, 1 << 20, 1, 0},
		{"first batch larger than partition MaxBytes is still sent", 1 << 20, 10, 1, 0},
		{"budget left for part of the second partition", int32(total + sizes[0] + 5), 1 << 20, 5, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts := fetchPartitions(t, rc, fetchReq(12, "limits", [16]byte{}, 0, 1, tt.maxBytes, tt.partMax, both))
			got0, got1 := batchesIn(t, parts[0].RecordBatches), batchesIn(t, parts[1].RecordBatches)
			if len(got0) != tt.want0 || len(got1) != tt.want1 {
				t.Fatalf("got %d and %d batches, want %d and %d", len(got0), len(got1), tt.want0, tt.want1)
			}
			for _, p := range parts {
				if p.ErrorCode != 0 || p.HighWatermark != 50 {
					t.Fatalf("partition %d: error %d hw %d", p.Partition, p.ErrorCode, p.HighWatermark)
				}
			}
		})
	}
}

func TestFetchOffsets(t *testing.T) {
	ts := newTestServer(t, nil)
	topic := ts.createTopic(t, "offs", 1, nil)
	rc := dialRaw(t, ts.addr)
	for i := range 3 {
		rc.mustProduce("offs", 0, batchOf(t, i*10, 10, 1000, record.Gzip))
	}
	tests := []struct {
		name      string
		offset    int64
		wantCode  int16
		wantFirst int64 // base offset of the first batch returned; -1 for none
	}{
		{"start", 0, 0, 0},
		{"inside the second batch returns the whole batch", 15, 0, 10},
		{"last record", 29, 0, 20},
		{"at the end offset: nothing yet", 30, 0, -1},
		{"past the end offset", 31, kerr.OffsetOutOfRange.Code, -1},
		{"negative", -5, kerr.OffsetOutOfRange.Code, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts := fetchPartitions(t, rc, fetchReq(13, "", topic.ID, 0, 1, 1<<20, 1<<20, map[int32]int64{0: tt.offset}))
			p := parts[0]
			if p.ErrorCode != tt.wantCode {
				t.Fatalf("error %d, want %d", p.ErrorCode, tt.wantCode)
			}
			got := batchesIn(t, p.RecordBatches)
			switch {
			case tt.wantFirst < 0 && len(got) != 0:
				t.Fatalf("got %d batches, want none", len(got))
			case tt.wantFirst >= 0 && (len(got) == 0 || got[0].BaseOffset != tt.wantFirst):
				t.Fatalf("got %+v, want first batch at %d", got, tt.wantFirst)
			}
			if tt.wantCode != 0 && (p.HighWatermark != -1 || p.LogStartOffset != -1) {
				t.Fatalf("error partition carries offsets hw=%d start=%d", p.HighWatermark, p.LogStartOffset)
			}
		})
	}

	// Below the log start offset after DeleteRecords-style advancing.
	p, err := ts.parts.Partition("offs", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Log().AdvanceStartOffset(20); err != nil {
		t.Fatal(err)
	}
	parts := fetchPartitions(t, rc, fetchReq(12, "offs", [16]byte{}, 0, 1, 1<<20, 1<<20, map[int32]int64{0: 5}))
	if parts[0].ErrorCode != kerr.OffsetOutOfRange.Code {
		t.Fatalf("fetch below the log start offset: error %d", parts[0].ErrorCode)
	}
	parts = fetchPartitions(t, rc, fetchReq(12, "offs", [16]byte{}, 0, 1, 1<<20, 1<<20, map[int32]int64{0: 20}))
	if parts[0].ErrorCode != 0 || parts[0].LogStartOffset != 20 {
		t.Fatalf("fetch at the new log start: error %d start %d", parts[0].ErrorCode, parts[0].LogStartOffset)
	}
}

func TestFetchErrors(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.createTopic(t, "known", 1, nil)
	rc := dialRaw(t, ts.addr)

	epochReq := func(epoch int32) *kmsg.FetchRequest {
		req := fetchReq(12, "known", [16]byte{}, 0, 1, 1<<20, 1<<20, map[int32]int64{0: 0})
		req.Topics[0].Partitions[0].CurrentLeaderEpoch = epoch
		return req
	}
	// Give the partition a leader epoch above zero, as after leader changes, by
	// reconciling a copy of the metadata with the epoch raised.
	snap := *ts.meta.Snapshot()
	known := *snap.Topics["known"]
	known.Partitions = append([]cluster.Partition(nil), known.Partitions...)
	known.Partitions[0].LeaderEpoch = 5
	snap.Topics = map[string]*cluster.Topic{}
	for name, topic := range ts.meta.Snapshot().Topics {
		snap.Topics[name] = topic
	}
	snap.Topics["known"] = &known
	ts.parts.Reconcile(&snap)
	p, _ := ts.parts.Partition("known", 0)
	if p.LeaderEpoch() != 5 {
		t.Fatalf("leader epoch %d after reconcile", p.LeaderEpoch())
	}
	partitionCases := []struct {
		name string
		req  *kmsg.FetchRequest
		want int16
	}{
		{"unknown topic", fetchReq(12, "nope", [16]byte{}, 10_000, 1, 1<<20, 1<<20, map[int32]int64{0: 0}), kerr.UnknownTopicOrPartition.Code},
		{"unknown partition", fetchReq(12, "known", [16]byte{}, 10_000, 1, 1<<20, 1<<20, map[int32]int64{0: 0, 1: 0}), kerr.UnknownTopicOrPartition.Code},
		{"unknown topic id", fetchReq(13, "", [16]byte{0xde, 0xad}, 10_000, 1, 1<<20, 1<<20, map[int32]int64{0: 0}), kerr.UnknownTopicID.Code},
		{"fenced leader epoch", epochReq(p.LeaderEpoch() - 1), kerr.FencedLeaderEpoch.Code},
		{"unknown leader epoch", epochReq(p.LeaderEpoch() + 1), kerr.UnknownLeaderEpoch.Code},
		{"current leader epoch", epochReq(p.LeaderEpoch()), 0},
	}
	for _, tt := range partitionCases {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			parts := fetchPartitions(t, rc, tt.req)
			if got := parts[len(parts)-1].ErrorCode; got != tt.want {
				t.Fatalf("error %d, want %d", got, tt.want)
			}
			// An error answers at once instead of long-polling.
			if tt.want != 0 && time.Since(start) > 5*time.Second {
				t.Fatal("fetch with a partition error long-polled")
			}
		})
	}

	sessionCases := []struct {
		name      string
		id, epoch int32
		want      int16
	}{
		{"unknown session", 77, 1, kerr.FetchSessionIDNotFound.Code},
		{"epoch without session", 0, 5, kerr.InvalidFetchSessionEpoch.Code},
		{"new session request gets none", 0, 0, 0},
	}
	for _, tt := range sessionCases {
		t.Run(tt.name, func(t *testing.T) {
			req := fetchReq(12, "known", [16]byte{}, 0, 1, 1<<20, 1<<20, map[int32]int64{0: 0})
			req.SessionID, req.SessionEpoch = tt.id, tt.epoch
			resp := rc.roundTrip(req).(*kmsg.FetchResponse)
			if resp.ErrorCode != tt.want || resp.SessionID != 0 {
				t.Fatalf("error %d session %d, want error %d session 0", resp.ErrorCode, resp.SessionID, tt.want)
			}
		})
	}
}

func TestFetchLongPollEndsOnShutdown(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.createTopic(t, "idle", 1, nil)
	rc := dialRaw(t, ts.addr)
	req := fetchReq(12, "idle", [16]byte{}, 60_000, 1, 1<<20, 1<<20, map[int32]int64{0: 0})
	corr := rc.send(req)
	waitParked(t, ts, "idle", 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := ts.s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("shutdown waited %v for a long poll", took)
	}
	// The parked fetch was answered (empty) before the connection closed.
	resp := rc.receive(req, corr).(*kmsg.FetchResponse)
	if len(resp.Topics) != 1 || resp.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("long poll answer on shutdown: %+v", resp)
	}
	rc.expectClosed()
}
