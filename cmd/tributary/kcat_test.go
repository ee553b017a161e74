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

// kcatRecords is how many records each codec × acks combination of
// TestKcatRoundTrip writes with kcat and reads back with kcat (the issue's
// acceptance figure, as for franz-go in broker/e2e_test.go).
const kcatRecords = 100_000

// TestKcatRoundTrip produces 100,000 keyed lines with headers through kcat
// for each codec × acks setting, reads them back with kcat exactly and in
// order (key, value, headers, a producer timestamp), checks with franz-go that
// the batches stayed in their codec, then restarts the broker and reads every
// topic again with kcat.
func TestKcatRoundTrip(t *testing.T) {
	kcat := needKcat(t)
	dataDir := t.TempDir()
	s := startServer(t, dataDir)
	type combo struct {
		topic, codec, acks string
		attr               uint8
	}
	var combos []combo
	for attr, codec := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		for _, acks := range []string{"0", "1", "all"} {
			combos = append(combos, combo{"kcat-" + codec + "-acks" + acks, codec, acks, uint8(attr)})
		}
	}
	lines := keyedLines("kc", kcatRecords)
	input := joinLines(lines)
	// check reads a topic with kcat and compares every record with lines.
	check := func(t *testing.T, addr string, c combo, after time.Time) {
		t.Helper()
		got := kcatConsumeAll(t, kcat, addr, c.topic, `%o|%k:%s|%h|%T\n`)
		if len(got) != kcatRecords {
			t.Fatalf("kcat read %d records, want %d", len(got), kcatRecords)
		}
		headers := "codec=" + c.codec + ",acks=" + c.acks
		for i, line := range got {
			parts := strings.SplitN(line, "|", 4)
			if len(parts) != 4 || parts[0] != strconv.Itoa(i) || parts[1] != lines[i] || parts[2] != headers {
				t.Fatalf("record %d = %q, want offset %d, %q, headers %q", i, line, i, lines[i], headers)
			}
			ts, err := strconv.ParseInt(parts[3], 10, 64)
			if err != nil || ts < after.UnixMilli() || ts > time.Now().UnixMilli() {
				t.Fatalf("record %d timestamp %q, want a producer time after %d", i, parts[3], after.UnixMilli())
			}
		}
	}
	start := time.Now().Add(-time.Second)
	for _, c := range combos {
		t.Run(c.topic, func(t *testing.T) {
			began := time.Now()
			r := runProgram(t, strings.NewReader(input), kcat, "-b", s.kafka, "-P", "-t", c.topic, "-K:",
				"-z", c.codec, "-X", "acks="+c.acks, "-H", "codec="+c.codec, "-H", "acks="+c.acks)
			if r.code != 0 {
				t.Fatalf("kcat -P: exit %d: %s", r.code, r.stderr)
			}
			produced := time.Since(began)
			check(t, s.kafka, c, start)
			t.Logf("%d records: kcat produce %v, consume %v", kcatRecords, produced.Round(time.Millisecond),
				(time.Since(began) - produced).Round(time.Millisecond))
			if c.codec == "none" {
				return
			}
			// The broker kept kcat's batches in their codec.
			cl, err := kgo.NewClient(kgo.SeedBrokers(s.kafka), kgo.ConsumeTopics(c.topic),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			tally := map[uint8]int{}
			for read := 0; read < kcatRecords; {
				fs := cl.PollFetches(ctx)
				if ctx.Err() != nil {
					t.Fatalf("franz-go read %d of %d records before the deadline", read, kcatRecords)
				}
				fs.EachError(func(tp string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", tp, p, err) })
				fs.EachRecord(func(r *kgo.Record) { tally[r.Attrs.CompressionType()]++; read++ })
			}
			// librdkafka compresses gzip, snappy and lz4 only when ApiVersions
			// lists Produce v0 (see broker/kafka's produceAdvertisedMin); it
			// sends a batch too small to shrink uncompressed, hence 99%.
			if tally[c.attr]*100 < kcatRecords*99 || tally[c.attr]+tally[0] != kcatRecords {
				t.Fatalf("records by stored codec %v, want at least 99%% of %d in codec %d (%s)", tally, kcatRecords, c.attr, c.codec)
			}
		})
	}
	if t.Failed() {
		return
	}
	code, err := s.terminate(20 * time.Second)
	if err != nil || code != 0 {
		t.Fatalf("stop: exit %d, %v", code, err)
	}
	s = startServer(t, dataDir)
	for _, c := range combos {
		t.Run("after-restart/"+c.topic, func(t *testing.T) { check(t, s.kafka, c, start) })
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
