package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/platform/nodetest"
)

// needKafkajs returns node's path and the node_modules folder that holds
// kafkajs, where .ci/install-deps.sh installs it (npm package kafkajs). Like
// kcat, it is a real client the test needs: without it the test fails.
func needKafkajs(t *testing.T) (node, modules string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required (apt-get install nodejs, or make deps): %v", err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	modules = filepath.Join(cache, "tributary", "npm", "node_modules")
	if _, err := os.Stat(filepath.Join(modules, "kafkajs", "package.json")); err != nil {
		t.Fatalf("kafkajs is required in %s (make deps installs it): %v", modules, err)
	}
	return node, modules
}

// kafkajsSession is what testdata/kafkajs_roundtrip.js prints.
type kafkajsSession struct {
	Created    bool `json:"created"`
	Partitions []struct {
		ID     int32 `json:"id"`
		Leader int32 `json:"leader"`
	} `json:"partitions"`
	Retention  []string `json:"retention"`
	Brokers    []string `json:"brokers"`
	EndOffsets []struct {
		Partition int32  `json:"partition"`
		Low       string `json:"low"`
		High      string `json:"high"`
	} `json:"endOffsets"`
	Consumed []struct {
		Partition int32  `json:"partition"`
		Offset    int64  `json:"offset"`
		Key       string `json:"key"`
		Value     string `json:"value"`
		Seq       string `json:"seq"`
		Timestamp int64  `json:"timestamp"`
	} `json:"consumed"`
	TopicsAfterDelete []string `json:"topicsAfterDelete"`
}

// TestKafkajsRoundTrip runs a kafkajs client (node) against the broker: it
// creates topics, reads metadata, configs and the cluster, produces with
// acks -1 and acks 1 (uncompressed and gzip) with keys, headers and
// timestamps, consumes everything back in a group, and deletes a topic. The
// test checks what kafkajs saw, then reads the topic with franz-go to check
// the batches kept their codec.
func TestKafkajsRoundTrip(t *testing.T) {
	node, modules := needKafkajs(t)
	s := startServer(t, t.TempDir())
	const topic, n = "kafkajs", 2000
	script, err := filepath.Abs(filepath.Join("testdata", "kafkajs_roundtrip.js"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, s.kafka, topic, strconv.Itoa(n))
	cmd.Env = append(nodetest.Env(), "NODE_PATH="+modules)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("kafkajs session: %v\n%s\nbroker log:\n%s", err, stderr, s.stderr.Tail(20))
	}
	var got kafkajsSession
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("kafkajs output is not the session's JSON: %v\n%s", err, out)
	}

	if !got.Created || len(got.Partitions) != 2 {
		t.Fatalf("createTopics %v, metadata partitions %+v", got.Created, got.Partitions)
	}
	for _, p := range got.Partitions {
		if p.Leader != 1 {
			t.Fatalf("partition %d leader %d, want 1", p.ID, p.Leader)
		}
	}
	if !slices.Equal(got.Retention, []string{"retention.ms=86400000"}) {
		t.Fatalf("describeConfigs = %v", got.Retention)
	}
	if want := []string{"1@" + s.kafka}; !slices.Equal(got.Brokers, want) {
		t.Fatalf("describeCluster brokers = %v, want %v", got.Brokers, want)
	}
	total := 0
	for _, o := range got.EndOffsets {
		high, _ := strconv.Atoi(o.High)
		if o.Low != "0" {
			t.Fatalf("partition %d low offset %s, want 0", o.Partition, o.Low)
		}
		total += high
	}
	if len(got.EndOffsets) != 2 || total != n {
		t.Fatalf("fetchTopicOffsets %+v: high offsets add up to %d, want %d", got.EndOffsets, total, n)
	}

	// Each record once, exactly as produced, in produce order per partition.
	if len(got.Consumed) != n {
		t.Fatalf("kafkajs consumed %d records, want %d", len(got.Consumed), n)
	}
	seen := make([]bool, n)
	lastSeq := map[int32]int{}
	nextOffset := map[int32]int64{}
	for _, r := range got.Consumed {
		i, err := strconv.Atoi(r.Seq)
		if err != nil || i < 0 || i >= n || seen[i] {
			t.Fatalf("record %+v: bad or repeated seq", r)
		}
		seen[i] = true
		if r.Key != fmt.Sprintf("k%d", i%10) || r.Value != fmt.Sprintf("v%d", i) || r.Timestamp != 1_700_000_000_000+int64(i) {
			t.Fatalf("record %d came back as %+v", i, r)
		}
		if last, ok := lastSeq[r.Partition]; ok && i <= last {
			t.Fatalf("partition %d: record %d after %d", r.Partition, i, last)
		}
		if r.Offset != nextOffset[r.Partition] {
			t.Fatalf("partition %d: offset %d, want %d", r.Partition, r.Offset, nextOffset[r.Partition])
		}
		lastSeq[r.Partition], nextOffset[r.Partition] = i, r.Offset+1
	}
	if !slices.Equal(got.TopicsAfterDelete, []string{topic}) {
		t.Fatalf("topics after deleting %s-doomed: %v", topic, got.TopicsAfterDelete)
	}

	// The broker kept kafkajs's batches as sent: the first half uncompressed,
	// the second gzip.
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.kafka), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	read := 0
	for read < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("franz-go read %d of %d records before the deadline", read, n)
		}
		fs.EachError(func(tp string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", tp, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			i, _ := strconv.Atoi(string(r.Headers[0].Value))
			want := uint8(0)
			if i >= n/2 {
				want = 1 // gzip
			}
			if c := r.Attrs.CompressionType(); c != want {
				t.Fatalf("record %d stored with codec %d, want %d", i, c, want)
			}
			read++
		})
	}
}
