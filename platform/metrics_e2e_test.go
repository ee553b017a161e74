package platform

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// allowedLabels are the only label names a tributary_* series may carry:
// each is bounded by the metadata (topic, partition, group), by the protocol
// (api, error) or by a fixed list (operation, state, outcome), or names what
// an operator declared (connector, task, pipeline, plugin). le is the
// histogram bucket bound. A client id, member id, connection or record field
// must never become a label.
var allowedLabels = map[string]bool{
	"topic": true, "partition": true, "group": true, "api": true, "error": true,
	"operation": true, "state": true, "le": true, "position": true,
	"connector": true, "task": true, "pipeline": true, "outcome": true, "plugin": true,
}

// families is one scrape of /metrics, by family name.
type families map[string]*dto.MetricFamily

func scrape(t *testing.T, n *Node) families {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + n.HTTPAddr().String() + PathMetrics)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("scrape: %s\n%s", resp.Status, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("scrape: parse: %v", err)
	}
	return fams
}

// value sums the series of family name whose labels include match; a
// histogram counts its observations. ok is false when no series matched.
func (f families) value(name string, match map[string]string) (sum float64, ok bool) {
	mf := f[name]
	if mf == nil {
		return 0, false
	}
series:
	for _, m := range mf.GetMetric() {
		labels := map[string]string{}
		for _, lp := range m.GetLabel() {
			labels[lp.GetName()] = lp.GetValue()
		}
		for k, v := range match {
			if labels[k] != v {
				continue series
			}
		}
		ok = true
		switch {
		case m.GetCounter() != nil:
			sum += m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			sum += m.GetGauge().GetValue()
		case m.GetHistogram() != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		default:
			sum += m.GetUntyped().GetValue()
		}
	}
	return sum, ok
}

func startRealNode(t *testing.T) *Node {
	t.Helper()
	return startNodeWith(t, Config{
		HTTPAddr: "127.0.0.1:0", Listeners: []string{"127.0.0.1:0"}, DataDir: t.TempDir(), NumPartitions: 3,
		Groups: GroupsConfig{InitialRebalanceDelay: new(time.Duration)}, // no delay: the test's group starts at once
	})
}

// startNodeWith starts a node with cfg, logging nothing, and shuts it down
// at the end of the test.
func startNodeWith(t *testing.T, cfg Config) *Node {
	t.Helper()
	n, err := New(cfg, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := n.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return n
}

const testClientID = "metrics-test-client-7f3a"

func produceN(t *testing.T, cl *kgo.Client, topic string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: topic, Key: []byte{byte(i)}, Value: []byte(strings.Repeat("v", 100))}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}
}

// consumeAndCommit reads want records of topic in group and commits them.
func consumeAndCommit(t *testing.T, addr, group, topic string, want int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ClientID(testClientID), kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic), kgo.DisableAutoCommit(), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := 0
	for got < want {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records of %s: %v", got, want, topic, err)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Logf("fetch error: %v", err) })
		got += fs.NumRecords()
	}
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

// requestOutOfRange fetches far past the end of a partition, so the broker
// answers OFFSET_OUT_OF_RANGE and counts the error. The client speaks Fetch
// below v13, which names topics rather than topic ids.
func requestOutOfRange(t *testing.T, addr, topic string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ClientID(testClientID), kgo.MaxVersions(kversion.V3_0_0()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis, req.MinBytes, req.MaxBytes = 10, 1, 1<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = 0, 1<<40, 1<<20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != kerr.OffsetOutOfRange.Code {
		t.Fatalf("fetch at 2^40 answered %v, want OFFSET_OUT_OF_RANGE", kerr.ErrorForCode(code))
	}
}

// waitMetric polls /metrics until cond holds for the value of name{match}.
func waitMetric(t *testing.T, n *Node, name string, match map[string]string, what string, cond func(float64) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		v, ok := scrape(t, n).value(name, match)
		if ok && cond(v) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s%v: %v (present %v), want %s", name, match, v, ok, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMetricsUnderLoad produces and consumes through a real node, scrapes
// /metrics before and after more load, and checks that the key series exist,
// move, and carry only bounded labels.
func TestMetricsUnderLoad(t *testing.T) {
	n := startRealNode(t)
	addr := n.KafkaAddrs()[0].String()
	// Uncompressed, so the bytes in are at least the values' bytes.
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ClientID(testClientID), kgo.AllowAutoTopicCreation(),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	produceN(t, cl, "orders", 300)
	produceN(t, cl, "clicks", 100)
	consumeAndCommit(t, addr, "billing", "orders", 300)
	requestOutOfRange(t, addr, "clicks")
	// Lag is computed at scrape time: the group is caught up.
	waitMetric(t, n, "tributary_consumer_group_lag", map[string]string{"group": "billing", "topic": "orders"}, "0", func(v float64) bool { return v == 0 })
	before := scrape(t, n)

	produceN(t, cl, "orders", 200)
	after := scrape(t, n)

	orders := map[string]string{"topic": "orders"}
	moves := []struct {
		name    string
		match   map[string]string
		atLeast float64 // the rise after the second load
	}{
		{"tributary_topic_records_in_total", orders, 200},
		{"tributary_topic_bytes_in_total", orders, 200 * 100},
		{"tributary_log_size_bytes", orders, 200 * 100},
		{"tributary_partition_high_watermark", orders, 200},
		{"tributary_consumer_group_lag", map[string]string{"group": "billing"}, 200},
		{"tributary_request_duration_seconds", map[string]string{"api": "Produce"}, 1},
		{"tributary_request_duration_seconds", map[string]string{"api": "Metadata"}, 0},
	}
	for _, m := range moves {
		b, okB := before.value(m.name, m.match)
		a, okA := after.value(m.name, m.match)
		if !okB || !okA {
			t.Errorf("%s%v missing (before %v, after %v)", m.name, m.match, okB, okA)
			continue
		}
		if a-b < m.atLeast {
			t.Errorf("%s%v rose by %v (%v -> %v), want at least %v", m.name, m.match, a-b, b, a, m.atLeast)
		}
	}
	if v, _ := after.value("tributary_consumer_group_lag", map[string]string{"group": "billing"}); v != 200 {
		t.Errorf("lag of billing = %v, want exactly the 200 records produced since its commit", v)
	}

	// Consuming moves records and bytes out, and the committed offset.
	consumeAndCommit(t, addr, "billing", "orders", 200)
	final := scrape(t, n)
	for _, name := range []string{"tributary_topic_records_out_total", "tributary_topic_bytes_out_total"} {
		b, _ := before.value(name, orders)
		a, _ := final.value(name, orders)
		if a-b < 200 {
			t.Errorf("%s{topic=orders} rose by %v, want at least 200", name, a-b)
		}
	}
	if v, _ := final.value("tributary_consumer_group_committed_offset", map[string]string{"group": "billing"}); v != 500 {
		t.Errorf("committed offsets of billing sum to %v, want 500", v)
	}
	if v, _ := final.value("tributary_consumer_group_lag", map[string]string{"group": "billing"}); v != 0 {
		t.Errorf("lag of billing after catching up = %v, want 0", v)
	}

	// A fetch waiting for data sits in purgatory while it waits.
	idle, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ClientID(testClientID), kgo.ConsumeTopics("clicks"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()), kgo.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	pollCtx, stopPoll := context.WithCancel(context.Background())
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		idle.PollFetches(pollCtx)
	}()
	waitMetric(t, n, "tributary_purgatory_size", map[string]string{"operation": "fetch"}, ">= 1", func(v float64) bool { return v >= 1 })
	stopPoll()
	<-polled
	idle.Close()

	checkSeries(t, final)
	// The node's worker creates its internal topics at start-up.
	checkLabels(t, final, map[string]bool{"orders": true, "clicks": true, "__consumer_offsets": true, "__transaction_state": true,
		"__tributary_configs": true, "__tributary_status": true, "__tributary_offsets": true})
	t.Run("deploy assets use exposed series", func(t *testing.T) { checkDeployAssets(t, final) })
}

// checkSeries checks the families a node must always expose.
func checkSeries(t *testing.T, f families) {
	t.Helper()
	want := map[string]map[string]string{
		"tributary_partitions_offline":          nil,
		"tributary_partitions_under_min_isr":    nil,
		"tributary_partitions_under_replicated": nil,
		"tributary_controller_active":           nil,
		"tributary_isr_shrinks_total":           nil,
		"tributary_isr_expands_total":           nil,
		"tributary_log_segments":                {"topic": "orders"},
		"tributary_request_errors_total":        {"api": "Fetch", "error": "OFFSET_OUT_OF_RANGE"},
		"tributary_purgatory_size":              {"operation": "produce"},
		"tributary_consumer_groups":             {"state": "Empty"},
		"tributary_connections":                 nil,
		"go_goroutines":                         nil,
		"process_cpu_seconds_total":             nil,
	}
	for name, match := range want {
		if _, ok := f.value(name, match); !ok {
			t.Errorf("series %s%v is not exposed", name, match)
		}
	}
	exact := []struct {
		name string
		want float64
	}{
		// A single healthy node: nothing needs attention, and it is the controller.
		{"tributary_partitions_offline", 0},
		{"tributary_partitions_under_min_isr", 0},
		{"tributary_partitions_under_replicated", 0},
		{"tributary_controller_active", 1},
		{"tributary_brokers", 1},
	}
	for _, e := range exact {
		if v, _ := f.value(e.name, nil); v != e.want {
			t.Errorf("%s = %v, want %v", e.name, v, e.want)
		}
	}
	if v, _ := f.value("tributary_partitions_leader", nil); v < 3+3 {
		t.Errorf("tributary_partitions_leader = %v, want at least the 6 partitions of the test topics", v)
	}
}

// checkLabels fails on any tributary_* series with a label outside
// allowedLabels, a topic label that is not a topic, or a label value holding
// the client id.
func checkLabels(t *testing.T, f families, topics map[string]bool) {
	t.Helper()
	names := 0
	for name, mf := range f {
		if !strings.HasPrefix(name, "tributary_") {
			continue
		}
		names++
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if !allowedLabels[lp.GetName()] {
					t.Errorf("%s has label %q, which is not in the allowed set", name, lp.GetName())
				}
				if lp.GetName() == "topic" && !topics[lp.GetValue()] {
					t.Errorf("%s has topic=%q, which is no topic", name, lp.GetValue())
				}
				if strings.Contains(lp.GetValue(), testClientID) {
					t.Errorf("%s carries the client id in %s=%q", name, lp.GetName(), lp.GetValue())
				}
			}
		}
	}
	if names < 20 {
		t.Errorf("only %d tributary_ families scraped", names)
	}
}

// exposedNames lists the sample names a scrape can be queried by: each
// family, and for histograms and summaries their _bucket, _sum and _count.
func exposedNames(f families) map[string]bool {
	out := map[string]bool{}
	for name, mf := range f {
		out[name] = true
		if t := mf.GetType(); t == dto.MetricType_HISTOGRAM || t == dto.MetricType_SUMMARY {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				out[name+s] = true
			}
		}
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
