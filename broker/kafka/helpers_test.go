package kafka

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/cluster"
	"github.com/tributary-io/tributary/broker/log"
	"github.com/tributary-io/tributary/broker/record"
	"github.com/tributary-io/tributary/broker/replication"
	"github.com/tributary-io/tributary/platform/nodetest"
)

const testNode = int32(1)

// syncBuffer is a log sink tests search; nodetest.Output is safe for
// concurrent writers.
type syncBuffer = nodetest.Output

// testServer is a Server on a loopback port with real metadata, logs and replicas
// in a temp dir.
type testServer struct {
	s      *Server
	addr   string
	meta   *cluster.Local
	logs   *log.Manager
	parts  *replication.Manager
	logOut *syncBuffer
}

func newTestServer(t testing.TB, mod func(*Config)) *testServer {
	t.Helper()
	dir := t.TempDir()
	sink := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(sink, &slog.HandlerOptions{Level: slog.LevelInfo}))
	logs, err := log.NewManager(dir, log.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	meta, err := cluster.OpenLocal(filepath.Join(dir, "__cluster_metadata"), testNode, "test-cluster")
	if err != nil {
		t.Fatal(err)
	}
	parts := replication.NewManager(logs, replication.Config{NodeID: testNode, Logger: logger})
	parts.Subscribe(meta)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := meta.RegisterBroker(cluster.Broker{ID: testNode, Host: "127.0.0.1", Port: int32(port)}); err != nil {
		t.Fatal(err)
	}
	cfg := Config{NodeID: testNode, AutoCreateTopics: true, NumPartitions: 1, Logger: logger, DataDir: dir}
	if mod != nil {
		mod(&cfg)
	}
	s := NewServer(cfg, meta, parts, logs)
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
		parts.Close()
		meta.Close()
		if err := logs.Close(); err != nil {
			t.Errorf("close logs: %v", err)
		}
	})
	return &testServer{s: s, addr: ln.Addr().String(), meta: meta, logs: logs, parts: parts, logOut: sink}
}

// createTopic creates a topic through the metadata store.
func (ts *testServer) createTopic(t testing.TB, name string, partitions int32, configs map[string]string) *cluster.Topic {
	t.Helper()
	topic, err := ts.meta.CreateTopic(name, partitions, 1, configs, false)
	if err != nil {
		t.Fatalf("create topic %s: %v", name, err)
	}
	return topic
}

// waitLog polls the server's log output for a line containing every substring.
func (ts *testServer) waitLog(t *testing.T, substrs ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !hasLine(ts.logOut.String(), substrs) {
		if time.Now().After(deadline) {
			t.Fatalf("no log line containing %q; log:\n%s", substrs, ts.logOut.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func hasLine(out string, substrs []string) bool {
	for _, line := range strings.Split(out, "\n") {
		all := true
		for _, s := range substrs {
			all = all && strings.Contains(line, s)
		}
		if all {
			return true
		}
	}
	return false
}

// rawClient speaks the wire protocol by hand, for exact requests and bad input.
type rawClient struct {
	t    testing.TB
	c    net.Conn
	corr int32
}

func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawClient{t: t, c: c}
}

// send writes req and returns its correlation id.
func (rc *rawClient) send(req kmsg.Request) int32 {
	rc.t.Helper()
	rc.corr++
	rc.write(kmsg.NewRequestFormatter(kmsg.FormatterClientID("raw-test")).AppendRequest(nil, req, rc.corr))
	return rc.corr
}

func (rc *rawClient) write(b []byte) {
	rc.t.Helper()
	_ = rc.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := rc.c.Write(b); err != nil {
		rc.t.Fatalf("write: %v", err)
	}
}

// readFrame reads one response frame within 15 seconds.
func (rc *rawClient) readFrame() ([]byte, error) {
	_ = rc.c.SetReadDeadline(time.Now().Add(15 * time.Second))
	var size [4]byte
	if _, err := io.ReadFull(rc.c, size[:]); err != nil {
		return nil, err
	}
	frame := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(rc.c, frame); err != nil {
		return nil, err
	}
	return frame, nil
}

// receive reads the answer to req sent with correlation id corr.
func (rc *rawClient) receive(req kmsg.Request, corr int32) kmsg.Response {
	rc.t.Helper()
	frame, err := rc.readFrame()
	if err != nil {
		rc.t.Fatalf("read %s response: %v", kmsg.NameForKey(req.Key()), err)
	}
	resp, err := decodeResponse(req, corr, frame)
	if err != nil {
		rc.t.Fatal(err)
	}
	return resp
}

func decodeResponse(req kmsg.Request, corr int32, frame []byte) (kmsg.Response, error) {
	b := kbin.Reader{Src: frame}
	if got := b.Int32(); got != corr {
		return nil, fmt.Errorf("correlation id %d, want %d", got, corr)
	}
	resp := req.ResponseKind()
	if resp.IsFlexible() && req.Key() != apiVersionsKey {
		kmsg.SkipTags(&b)
	}
	if err := resp.ReadFrom(b.Src); err != nil {
		return nil, fmt.Errorf("decode %s v%d response: %w", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	return resp, nil
}

func (rc *rawClient) roundTrip(req kmsg.Request) kmsg.Response {
	rc.t.Helper()
	return rc.receive(req, rc.send(req))
}

// expectClosed checks the server closes the connection (without answering).
func (rc *rawClient) expectClosed() {
	rc.t.Helper()
	_ = rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b [1]byte
	n, err := rc.c.Read(b[:])
	if n > 0 {
		rc.t.Fatalf("server answered instead of closing")
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		rc.t.Fatalf("connection still open after 10s")
	}
	if err == nil {
		rc.t.Fatal("read returned no error")
	}
}

// batchOf builds one batch of n records with values "v<base+i>" at timestamp ts.
func batchOf(t testing.TB, base, n int, ts int64, codec record.Compression) []byte {
	t.Helper()
	recs := make([]record.Record, n)
	for i := range recs {
		recs[i] = record.Record{OffsetDelta: int32(i), Key: []byte(fmt.Sprintf("k%d", base+i)), Value: []byte(fmt.Sprintf("v%d", base+i))}
	}
	b, err := record.Build(record.BatchSpec{
		Compression: codec, BaseTimestamp: ts, MaxTimestamp: ts,
		ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1,
	}, recs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// produce sends batches to topic/partition with acks=-1 and returns the response partition.
func (rc *rawClient) produce(topic string, partition int32, version int16, records []byte) kmsg.ProduceResponseTopicPartition {
	rc.t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Version = version
	req.Acks = -1
	req.Topics = []kmsg.ProduceRequestTopic{{Topic: topic, Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: partition, Records: records}}}}
	resp := rc.roundTrip(req).(*kmsg.ProduceResponse)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		rc.t.Fatalf("produce response shape: %+v", resp)
	}
	return resp.Topics[0].Partitions[0]
}

// mustProduce produces and fails the test on a partition error.
func (rc *rawClient) mustProduce(topic string, partition int32, records []byte) int64 {
	rc.t.Helper()
	p := rc.produce(topic, partition, 9, records)
	if p.ErrorCode != 0 {
		rc.t.Fatalf("produce to %s/%d: error %d", topic, partition, p.ErrorCode)
	}
	return p.BaseOffset
}
