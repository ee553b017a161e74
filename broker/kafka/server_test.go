package kafka

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/record"
)

// healthyClient produces and consumes through kgo while a test misbehaves on
// other connections; stop reports whether everything it did succeeded.
type healthyClient struct {
	produced, consumed atomic.Int64
	errs               chan error
	cancel             context.CancelFunc
	done               sync.WaitGroup
}

func startHealthyClient(t *testing.T, addr, topic string) *healthyClient {
	t.Helper()
	h := &healthyClient{errs: make(chan error, 100)}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	prod, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic), kgo.AllowAutoTopicCreation(), kgo.DisableIdempotentWrite())
	if err != nil {
		t.Fatal(err)
	}
	cons, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	h.done.Add(2)
	go func() {
		defer h.done.Done()
		defer prod.Close()
		for i := 0; ctx.Err() == nil; i++ {
			r := &kgo.Record{Value: []byte(fmt.Sprintf("healthy-%d", i))}
			if err := prod.ProduceSync(ctx, r).FirstErr(); err != nil {
				if ctx.Err() == nil {
					h.errs <- fmt.Errorf("produce %d: %w", i, err)
				}
				return
			}
			h.produced.Add(1)
		}
	}()
	go func() {
		defer h.done.Done()
		defer cons.Close()
		next := 0
		for ctx.Err() == nil {
			fs := cons.PollFetches(ctx)
			fs.EachError(func(topic string, p int32, err error) {
				if ctx.Err() == nil && !errors.Is(err, context.Canceled) {
					h.errs <- fmt.Errorf("consume %s/%d: %w", topic, p, err)
				}
			})
			fs.EachRecord(func(r *kgo.Record) {
				if want := fmt.Sprintf("healthy-%d", next); string(r.Value) != want {
					h.errs <- fmt.Errorf("consumed %q, want %q", r.Value, want)
				}
				next++
				h.consumed.Add(1)
			})
		}
	}()
	return h
}

// stop waits until the consumer caught up with the producer, then stops both.
func (h *healthyClient) stop(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for h.produced.Load() == 0 || h.consumed.Load() < h.produced.Load() {
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	produced := h.produced.Load()
	h.cancel()
	h.done.Wait()
	close(h.errs)
	for err := range h.errs {
		t.Errorf("healthy client: %v", err)
	}
	if produced == 0 || h.consumed.Load() < produced {
		t.Fatalf("healthy client produced %d, consumed %d", produced, h.consumed.Load())
	}
	t.Logf("healthy client produced and consumed %d records meanwhile", produced)
}

// TestBadInputKeepsServingOthers sends each kind of bad input on its own
// connection and checks the documented answer, while a kgo client produces and
// consumes on the same broker the whole time.
func TestBadInputKeepsServingOthers(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.createTopic(t, "target", 1, nil)
	h := startHealthyClient(t, ts.addr, "healthy")
	deadline := time.Now().Add(10 * time.Second)
	for h.consumed.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}

	lengthPrefix := func(n uint32, rest ...byte) []byte {
		return append(binary.BigEndian.AppendUint32(nil, n), rest...)
	}
	apiVersions := kmsg.NewRequestFormatter().AppendRequest(nil, &kmsg.ApiVersionsRequest{Version: 0}, 1)
	shortened := append([]byte{}, apiVersions...)
	binary.BigEndian.PutUint32(shortened, uint32(len(apiVersions)-4-3)) // header says 3 bytes fewer than sent
	unknownKey := lengthPrefix(8, 0x7f, 0x7f, 0, 0, 0, 0, 0, 1)
	produceV1 := kmsg.NewRequestFormatter().AppendRequest(nil, &kmsg.ProduceRequest{Version: 1, Acks: 1}, 1)
	metadataV99 := lengthPrefix(10, 0, 3, 0, 99, 0, 0, 0, 1, 0xff, 0xff)
	rng := rand.New(rand.NewPCG(7, 7))
	garbage := make([]byte, 4096)
	for i := range garbage {
		garbage[i] = byte(rng.UintN(256))
	}
	garbage[0] = 0x7f // a huge size prefix

	closeCases := []struct {
		name    string
		send    []byte
		halfEnd bool // close our write side after sending
		logged  string
	}{
		{"http request", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), false, "invalid request size"},
		{"random garbage", garbage, false, "invalid request size"},
		{"2 GiB length prefix", lengthPrefix(1 << 31), false, "invalid request size"},
		{"2 GiB minus one length prefix", lengthPrefix(1<<31 - 1), false, "invalid request size"},
		{"length above socket.request.max.bytes", lengthPrefix(100<<20 + 1), false, "invalid request size"},
		{"length shorter than the request", shortened, false, "malformed request"},
		{"length longer than what is sent", lengthPrefix(1000, apiVersions[4:]...), true, "unexpected EOF"},
		{"frame shorter than a header", lengthPrefix(3, 0, 18, 0), false, "malformed request"},
		{"unknown api key", unknownKey, false, "unknown api key"},
		{"produce v1 unsupported", produceV1, false, "unsupported api version"},
		{"metadata v99 unsupported", metadataV99, false, "unsupported api version"},
	}
	for _, tt := range closeCases {
		t.Run(tt.name, func(t *testing.T) {
			rc := dialRaw(t, ts.addr)
			rc.write(tt.send)
			if tt.halfEnd {
				if err := rc.c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
					t.Fatal(err)
				}
			}
			rc.expectClosed()
			ts.waitLog(t, tt.logged, "remote="+rc.c.LocalAddr().String())
		})
	}

	t.Run("api versions above served gets UNSUPPORTED_VERSION v0", func(t *testing.T) {
		rc := dialRaw(t, ts.addr)
		req := kmsg.NewPtrApiVersionsRequest()
		req.Version = 99
		corr := rc.send(req)
		frame, err := rc.readFrame()
		if err != nil {
			t.Fatal(err)
		}
		v0 := &kmsg.ApiVersionsRequest{Version: 0}
		resp, err := decodeResponse(v0, corr, frame)
		if err != nil {
			t.Fatal(err)
		}
		av := resp.(*kmsg.ApiVersionsResponse)
		if av.ErrorCode != kerr.UnsupportedVersion.Code || len(av.ApiKeys) == 0 {
			t.Fatalf("error %d with %d keys", av.ErrorCode, len(av.ApiKeys))
		}
		// The connection stays usable: retry at a served version.
		if got := rc.roundTrip(&kmsg.ApiVersionsRequest{Version: 3, ClientSoftwareName: "t", ClientSoftwareVersion: "1"}).(*kmsg.ApiVersionsResponse); got.ErrorCode != 0 {
			t.Fatalf("retry: error %d", got.ErrorCode)
		}
	})

	t.Run("bad CRC gets CORRUPT_MESSAGE and the connection stays", func(t *testing.T) {
		rc := dialRaw(t, ts.addr)
		p := rc.produce("target", 0, 9, corrupt(batchOf(t, 0, 10, 1000, record.Gzip)))
		if p.ErrorCode != kerr.CorruptMessage.Code {
			t.Fatalf("error %d, want CORRUPT_MESSAGE", p.ErrorCode)
		}
		if off := rc.mustProduce("target", 0, batchOf(t, 0, 10, 1000, record.Gzip)); off != 0 {
			t.Fatalf("valid batch after the corrupt one at offset %d, want 0", off)
		}
	})

	h.stop(t)
}

// TestHandlerPanicClosesOnlyThatConnection replaces one handler with a panicking
// one and checks the panic is logged and other connections carry on.
func TestHandlerPanicClosesOnlyThatConnection(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.s.apiByKey[3] = &api{Key: 3, MinVersion: 0, MaxVersion: 13, Serve: func(*Server, *Request) (kmsg.Response, error) {
		panic("boom")
	}}
	other := dialRaw(t, ts.addr)
	victim := dialRaw(t, ts.addr)
	victim.send(metadataReq(12, false))
	victim.expectClosed()
	ts.waitLog(t, "level=ERROR", "handler panicked: Metadata v12: boom")
	if resp := other.roundTrip(&kmsg.ApiVersionsRequest{Version: 0}).(*kmsg.ApiVersionsResponse); resp.ErrorCode != 0 {
		t.Fatalf("other connection: error %d", resp.ErrorCode)
	}
}

// TestPipelinedRequestsAnswerInOrder sends many requests before reading any
// answer and checks they come back in order with their correlation ids.
func TestPipelinedRequestsAnswerInOrder(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.createTopic(t, "pipe", 1, nil)
	rc := dialRaw(t, ts.addr)
	const n = 200
	reqs := make([]kmsg.Request, n)
	corrs := make([]int32, n)
	for i := range n {
		switch i % 3 {
		case 0:
			r := kmsg.NewPtrProduceRequest()
			r.Version, r.Acks = 9, 1
			r.Topics = []kmsg.ProduceRequestTopic{{Topic: "pipe", Partitions: []kmsg.ProduceRequestTopicPartition{{Records: batchOf(t, i, 1, 1000, record.None)}}}}
			reqs[i] = r
		case 1:
			reqs[i] = metadataReq(12, false, "pipe")
		default:
			reqs[i] = fetchReq(12, "pipe", [16]byte{}, 0, 1, 1<<20, 1<<20, map[int32]int64{0: 0})
		}
		corrs[i] = rc.send(reqs[i])
	}
	var lastOffset int64 = -1
	for i := range n {
		resp := rc.receive(reqs[i], corrs[i])
		if pr, ok := resp.(*kmsg.ProduceResponse); ok {
			off := pr.Topics[0].Partitions[0].BaseOffset
			if off != lastOffset+1 {
				t.Fatalf("produce %d at offset %d after %d: out of order", i, off, lastOffset)
			}
			lastOffset = off
		}
	}
}

// TestShutdownClosesIdleConnections checks Shutdown returns promptly with idle
// clients connected, and that they see the connection close.
func TestShutdownClosesIdleConnections(t *testing.T) {
	ts := newTestServer(t, nil)
	var clients []*rawClient
	for range 5 {
		rc := dialRaw(t, ts.addr)
		rc.roundTrip(&kmsg.ApiVersionsRequest{Version: 0})
		clients = append(clients, rc)
	}
	if n := ts.s.NumConns(); n != 5 {
		t.Fatalf("%d connections, want 5", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for _, rc := range clients {
		rc.expectClosed()
	}
	if n := ts.s.NumConns(); n != 0 {
		t.Fatalf("%d connections after shutdown", n)
	}
}

// TestIdleConnectionsAreClosed checks connections.max.idle.ms.
func TestIdleConnectionsAreClosed(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.IdleTimeout = 200 * time.Millisecond })
	rc := dialRaw(t, ts.addr)
	// Requests keep it open past the idle timeout...
	var lastAnswer time.Time
	for i := range 4 {
		if i > 0 {
			time.Sleep(100 * time.Millisecond) // less than the idle timeout between requests
		}
		rc.roundTrip(&kmsg.ApiVersionsRequest{Version: 0})
		lastAnswer = time.Now()
	}
	// ...silence closes it. The server's idle clock starts before the client has
	// read the last answer, so allow a little slack below the full timeout.
	rc.expectClosed()
	if took := time.Since(lastAnswer); took < 150*time.Millisecond {
		t.Fatalf("closed after %v of silence, before the 200ms idle timeout", took)
	}
}

// TestLargeFramesReadInFull sends requests above the reusable buffer size, one
// in small pieces, and checks they are read whole.
func TestLargeFramesReadInFull(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.createTopic(t, "large", 1, map[string]string{"max.message.bytes": "8000000"})
	rc := dialRaw(t, ts.addr)
	for _, size := range []int{keepBufferMax + 1, 3*keepBufferMax + 12345} {
		recs := make([]record.Record, size/1000)
		for i := range recs {
			recs[i] = record.Record{OffsetDelta: int32(i), Value: make([]byte, 1000)}
		}
		batch, err := record.Build(record.BatchSpec{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}, recs)
		if err != nil {
			t.Fatal(err)
		}
		req := kmsg.NewPtrProduceRequest()
		req.Version, req.Acks = 9, 1
		req.Topics = []kmsg.ProduceRequestTopic{{Topic: "large", Partitions: []kmsg.ProduceRequestTopicPartition{{Records: batch}}}}
		rc.corr++
		frame := kmsg.NewRequestFormatter().AppendRequest(nil, req, rc.corr)
		for len(frame) > 0 { // in pieces, so the broker sees the frame arrive slowly
			n := min(len(frame), 256<<10)
			rc.write(frame[:n])
			frame = frame[n:]
		}
		resp := rc.receive(req, rc.corr).(*kmsg.ProduceResponse)
		if p := resp.Topics[0].Partitions[0]; p.ErrorCode != 0 {
			t.Fatalf("%d-byte produce: error %d", size, p.ErrorCode)
		}
	}
}

// TestStopAcceptingServesOpenConnections: after StopAccepting a new dial is
// refused while a connection opened before still gets answers, until
// Shutdown closes it.
func TestStopAcceptingServesOpenConnections(t *testing.T) {
	ts := newTestServer(t, nil)
	rc := dialRaw(t, ts.addr)
	rc.roundTrip(&kmsg.ApiVersionsRequest{Version: 0})
	ts.s.StopAccepting()
	ts.s.StopAccepting() // a second call is harmless
	deadline := time.Now().Add(10 * time.Second)
	for {
		nc, err := net.DialTimeout("tcp", ts.addr, time.Second)
		if err != nil {
			break
		}
		nc.Close()
		if time.Now().After(deadline) {
			t.Fatal("dials still accepted 10s after StopAccepting")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for range 3 {
		rc.roundTrip(&kmsg.ApiVersionsRequest{Version: 0})
	}
	if n := ts.s.NumConns(); n != 1 {
		t.Fatalf("%d connections after StopAccepting, want the 1 open before", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	rc.expectClosed()
}
