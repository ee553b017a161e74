package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// keyedLines returns n "key:value" lines; values vary in length so batches
// hold records of different sizes.
func keyedLines(prefix string, n int) []string {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf("%s-key-%d:%s-value-%d-%s", prefix, i, prefix, i, strings.Repeat("x", i%97))
	}
	return lines
}

func joinLines(lines []string) string { return strings.Join(lines, "\n") + "\n" }

// kcatConsumeAll reads a topic from the beginning to its end with kcat.
func kcatConsumeAll(t *testing.T, kcat, addr, topic, format string) []string {
	t.Helper()
	r := runProgram(t, nil, kcat, "-b", addr, "-C", "-t", topic, "-e", "-o", "beginning", "-q", "-f", format)
	if r.code != 0 {
		t.Fatalf("kcat -C %s: exit %d: %s", topic, r.code, r.stderr)
	}
	out := strings.TrimSuffix(r.stdout, "\n")
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

// TestKcatRoundTrip produces keyed lines with kcat (every codec) and reads
// them back with kcat, in order.
func TestKcatRoundTrip(t *testing.T) {
	kcat := needKcat(t)
	s := startServer(t, t.TempDir())
	const n = 3000
	for _, codec := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		t.Run(codec, func(t *testing.T) {
			topic := "kcat-" + codec
			lines := keyedLines(codec, n)
			r := runProgram(t, strings.NewReader(joinLines(lines)), kcat,
				"-b", s.kafka, "-P", "-t", topic, "-K:", "-z", codec)
			if r.code != 0 {
				t.Fatalf("kcat -P: exit %d: %s", r.code, r.stderr)
			}
			got := kcatConsumeAll(t, kcat, s.kafka, topic, `%k:%s\n`)
			if len(got) != n {
				t.Fatalf("read %d lines, want %d", len(got), n)
			}
			for i := range lines {
				if got[i] != lines[i] {
					t.Fatalf("line %d = %q, want %q", i, got[i], lines[i])
				}
			}
		})
	}
}

// TestKcatToFranz produces with kcat (keys and headers) and consumes with franz-go.
func TestKcatToFranz(t *testing.T) {
	kcat := needKcat(t)
	s := startServer(t, t.TempDir())
	const topic, n = "kcat-to-franz", 500
	lines := keyedLines("k2f", n)
	r := runProgram(t, strings.NewReader(joinLines(lines)), kcat,
		"-b", s.kafka, "-P", "-t", topic, "-K:", "-H", "source=kcat", "-H", "n=1", "-z", "lz4")
	if r.code != 0 {
		t.Fatalf("kcat -P: exit %d: %s", r.code, r.stderr)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.kafka), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got []*kgo.Record
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for len(got) < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records before the deadline", len(got), n)
		}
		fs.EachError(func(tp string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", tp, p, err) })
		got = append(got, fs.Records()...)
	}
	if len(got) != n {
		t.Fatalf("consumed %d records, want %d", len(got), n)
	}
	for i, rec := range got {
		k, v, _ := strings.Cut(lines[i], ":")
		if string(rec.Key) != k || string(rec.Value) != v || rec.Offset != int64(i) {
			t.Fatalf("record %d = offset %d %q:%q, want %q:%q", i, rec.Offset, rec.Key, rec.Value, k, v)
		}
		wantHeaders := []kgo.RecordHeader{{Key: "source", Value: []byte("kcat")}, {Key: "n", Value: []byte("1")}}
		if !slices.EqualFunc(rec.Headers, wantHeaders, func(a, b kgo.RecordHeader) bool {
			return a.Key == b.Key && string(a.Value) == string(b.Value)
		}) {
			t.Fatalf("record %d headers = %v, want %v", i, rec.Headers, wantHeaders)
		}
	}
}

// TestFranzToKcat produces with franz-go (headers, explicit timestamps, a null
// key) and checks what kcat prints.
func TestFranzToKcat(t *testing.T) {
	kcat := needKcat(t)
	s := startServer(t, t.TempDir())
	const topic, n = "franz-to-kcat", 200
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.kafka), kgo.DefaultProduceTopic(topic),
		kgo.ProducerBatchCompression(kgo.ZstdCompression()), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	base := time.UnixMilli(1_700_000_000_000)
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{
			Key:       []byte("k" + strconv.Itoa(i)),
			Value:     []byte("v" + strconv.Itoa(i)),
			Timestamp: base.Add(time.Duration(i) * time.Second),
			Headers:   []kgo.RecordHeader{{Key: "h1", Value: []byte("a" + strconv.Itoa(i))}, {Key: "h2", Value: []byte("b")}},
		}
	}
	recs[7].Key = nil
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	got := kcatConsumeAll(t, kcat, s.kafka, topic, `%o|%k|%s|%T|%h\n`)
	if len(got) != n {
		t.Fatalf("kcat printed %d lines, want %d:\n%s", len(got), n, strings.Join(got, "\n"))
	}
	for i, line := range got {
		key := "k" + strconv.Itoa(i)
		if i == 7 {
			key = "" // kcat prints a null key as nothing
		}
		want := fmt.Sprintf("%d|%s|v%d|%d|h1=a%d,h2=b", i, key, i, base.Add(time.Duration(i)*time.Second).UnixMilli(), i)
		if line != want {
			t.Fatalf("line %d = %q, want %q", i, line, want)
		}
	}
}

// TestKcatMetadata checks that kcat -L lists the broker and the topics, in
// the text and the JSON form.
func TestKcatMetadata(t *testing.T) {
	kcat := needKcat(t)
	s := startServer(t, t.TempDir())
	s.mustCLI(t, nil, "topic", "create", "meta-a", "--partitions", "3")
	s.mustCLI(t, nil, "topic", "create", "meta-b")

	r := runProgram(t, nil, kcat, "-b", s.kafka, "-L")
	if r.code != 0 {
		t.Fatalf("kcat -L: exit %d: %s", r.code, r.stderr)
	}
	brokerLine := regexp.MustCompile(`(?m)^\s+broker (\d+) at (\S+)`)
	m := brokerLine.FindAllStringSubmatch(r.stdout, -1)
	if len(m) != 1 || m[0][1] != "1" || m[0][2] != s.kafka {
		t.Fatalf("kcat -L brokers = %v, want broker 1 at %s:\n%s", m, s.kafka, r.stdout)
	}
	topicLine := regexp.MustCompile(`(?m)^\s+topic "([^"]+)" with (\d+) partitions`)
	topics := map[string]string{}
	for _, tm := range topicLine.FindAllStringSubmatch(r.stdout, -1) {
		topics[tm[1]] = tm[2]
	}
	if topics["meta-a"] != "3" || topics["meta-b"] != "1" {
		t.Fatalf("kcat -L topics = %v, want meta-a with 3 and meta-b with 1:\n%s", topics, r.stdout)
	}

	r = runProgram(t, nil, kcat, "-b", s.kafka, "-L", "-J")
	if r.code != 0 {
		t.Fatalf("kcat -L -J: exit %d: %s", r.code, r.stderr)
	}
	var md struct {
		Brokers []struct {
			ID   int32  `json:"id"`
			Name string `json:"name"`
		} `json:"brokers"`
		Topics []struct {
			Topic      string `json:"topic"`
			Partitions []struct {
				Partition int32                `json:"partition"`
				Leader    int32                `json:"leader"`
				Replicas  []struct{ ID int32 } `json:"replicas"`
				ISRs      []struct{ ID int32 } `json:"isrs"`
			} `json:"partitions"`
		} `json:"topics"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &md); err != nil {
		t.Fatalf("kcat -L -J output is not JSON: %v\n%s", err, r.stdout)
	}
	if len(md.Brokers) != 1 || md.Brokers[0].ID != 1 || md.Brokers[0].Name != s.kafka {
		t.Fatalf("brokers = %+v, want id 1 at %s", md.Brokers, s.kafka)
	}
	found := 0
	for _, tp := range md.Topics {
		if tp.Topic != "meta-a" {
			continue
		}
		found++
		if len(tp.Partitions) != 3 {
			t.Fatalf("meta-a has %d partitions, want 3", len(tp.Partitions))
		}
		for _, p := range tp.Partitions {
			if p.Leader != 1 || len(p.Replicas) != 1 || len(p.ISRs) != 1 {
				t.Fatalf("meta-a partition %+v: want leader 1, one replica, one ISR", p)
			}
		}
	}
	if found != 1 {
		t.Fatalf("meta-a not in kcat -L -J topics: %s", r.stdout)
	}
}
