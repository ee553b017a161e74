package kafka_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker"
)

// adminEnv is one in-process broker on 127.0.0.1 with a kgo client and a kadm
// client connected to it.
type adminEnv struct {
	t       *testing.T
	dataDir string
	b       *broker.Broker
	addr    string
	cl      *kgo.Client
	adm     *kadm.Client
}

// adminTestConfig is the broker config the admin tests use: 2 default partitions,
// a broker-wide segment.bytes that differs from Kafka's (to see
// STATIC_BROKER_CONFIG), and a fast cleaner so retention changes show quickly.
func adminTestConfig(dataDir string) broker.Config {
	cfg := broker.Config{
		NodeID:          1,
		DataDir:         dataDir,
		Listeners:       []string{"127.0.0.1:0"},
		ClusterID:       "admin-test-cluster",
		NumPartitions:   2,
		CleanerInterval: 50 * time.Millisecond,
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	cfg.LogDefaults.SegmentBytes = 8 << 20
	if os.Getenv("TRIBUTARY_TEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return cfg
}

// startAdminEnv starts a broker over dataDir (a new temp dir when empty) and
// stops it when the test ends.
func startAdminEnv(t *testing.T, dataDir string) *adminEnv {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	b, err := broker.New(adminTestConfig(dataDir))
	if err != nil {
		t.Fatalf("broker.New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		t.Fatalf("broker start: %v", err)
	}
	e := &adminEnv{t: t, dataDir: dataDir, b: b, addr: b.Addrs()[0].String()}
	t.Cleanup(e.stop)
	// The smallest metadata age kgo allows, so kadm calls that read cached
	// metadata (CreatePartitions with a count to add) see recent changes.
	e.cl, err = kgo.NewClient(kgo.SeedBrokers(e.addr), kgo.RequestRetries(3), kgo.MetadataMinAge(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	e.adm = kadm.NewClient(e.cl)
	// Learn broker 1's address, so request can talk to it directly.
	if _, err := e.cl.Request(testCtx(t), kmsg.NewPtrMetadataRequest()); err != nil {
		t.Fatalf("first metadata request: %v", err)
	}
	return e
}

// stop closes the clients and shuts the broker down; safe to call twice.
func (e *adminEnv) stop() {
	if e.cl != nil {
		e.cl.Close()
		e.cl = nil
	}
	if e.b != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.b.Shutdown(ctx); err != nil {
			e.t.Errorf("broker shutdown: %v", err)
		}
		e.b = nil
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// createTopic creates a topic or fails the test.
func (e *adminEnv) createTopic(name string, partitions int32, configs map[string]*string) kadm.CreateTopicResponse {
	e.t.Helper()
	resp, err := e.adm.CreateTopic(testCtx(e.t), partitions, 1, configs, name)
	if err != nil {
		e.t.Fatalf("create topic %s: %v (%s)", name, err, resp.ErrMessage)
	}
	return resp
}

// produce writes n records of size bytes to topic/partition, one batch each.
func (e *adminEnv) produce(topic string, partition int32, n, size int) {
	e.t.Helper()
	ctx := testCtx(e.t)
	value := []byte(strings.Repeat("v", size))
	cl := e.producer()
	for i := range n {
		r := &kgo.Record{Topic: topic, Partition: partition, Value: value}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			e.t.Fatalf("produce record %d to %s/%d: %v", i, topic, partition, err)
		}
	}
}

// producer is a client that writes uncompressed batches (so sizes on disk are
// predictable) to the partition a record names.
func (e *adminEnv) producer() *kgo.Client {
	e.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.addr), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(0), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(cl.Close)
	return cl
}

// topicMeta is a topic as an uncached Metadata request reports it.
type topicMeta struct {
	ID         kadm.TopicID
	Partitions []kmsg.MetadataResponseTopicPartition
}

// topics lists every topic with a fresh Metadata request. (kadm's listing
// answers from the client's metadata cache, which may predate a change.)
func (e *adminEnv) topics() map[string]topicMeta {
	e.t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	resp := e.request(req).(*kmsg.MetadataResponse)
	out := map[string]topicMeta{}
	for _, t := range resp.Topics {
		if t.Topic == nil || t.ErrorCode != 0 {
			e.t.Fatalf("metadata topic %v: error %d", t.Topic, t.ErrorCode)
		}
		out[*t.Topic] = topicMeta{ID: t.TopicID, Partitions: t.Partitions}
	}
	return out
}

// describeTopicConfigs describes one topic's configs, by name.
func (e *adminEnv) describeTopicConfigs(topic string) map[string]kadm.Config {
	e.t.Helper()
	rcs, err := e.adm.DescribeTopicConfigs(testCtx(e.t), topic)
	if err != nil {
		e.t.Fatalf("describe configs of %s: %v", topic, err)
	}
	rc, err := rcs.On(topic, nil)
	if err != nil || rc.Err != nil {
		e.t.Fatalf("describe configs of %s: %v / %v (%s)", topic, err, rc.Err, rc.ErrMessage)
	}
	out := map[string]kadm.Config{}
	for _, c := range rc.Configs {
		out[c.Key] = c
	}
	return out
}

// request sends a raw request straight to broker 1, so the broker answers it
// all (kgo would split some requests by partition leader and answer unknown
// partitions itself).
func (e *adminEnv) request(req kmsg.Request) kmsg.Response {
	e.t.Helper()
	resp, err := e.cl.Broker(1).Request(testCtx(e.t), req)
	if err != nil {
		e.t.Fatalf("%T: %v", req, err)
	}
	return resp
}

// segmentFiles counts the .log segment files of a partition on disk.
func (e *adminEnv) segmentFiles(topic string, partition int32) int {
	e.t.Helper()
	matches, err := filepath.Glob(filepath.Join(e.dataDir, topic+"-"+strconv.Itoa(int(partition)), "*.log"))
	if err != nil {
		e.t.Fatal(err)
	}
	return len(matches)
}

// eventually polls cond every 20ms until it returns nil or the deadline passes,
// then fails with cond's last error.
func eventually(t *testing.T, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not after %v: %v", timeout, err)
		}
		<-tick.C
	}
}

// strp returns a pointer to s, for kadm config maps.
func strp(s string) *string { return &s }

// errIs reports whether err is, or wraps, target; nil target means no error.
func errIs(err, target error) bool {
	if target == nil {
		return err == nil
	}
	return errors.Is(err, target)
}
