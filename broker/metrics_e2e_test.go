package broker_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/broker"
)

// gathered finds the value of a series by name and exact labels in a gather.
func gathered(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			if len(got) != len(labels) {
				continue
			}
			for k, v := range labels {
				if got[k] != v {
					continue metric
				}
			}
			return metricValue(m), true
		}
	}
	return 0, false
}

func metricValue(m *dto.Metric) float64 {
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetHistogram() != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return m.GetUntyped().GetValue()
}

func startWithRegistry(t *testing.T, dir string, reg prometheus.Registerer) *broker.Broker {
	t.Helper()
	b, err := broker.New(broker.Config{
		DataDir: dir, Listeners: []string{"127.0.0.1:0"}, Logger: quietLogger(),
		CleanerInterval: time.Minute, Metrics: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBrokerMetricsRegistry checks the broker registers on the injected
// registry, counts traffic, reports readiness, and leaves the registry clean
// on shutdown so a restarted broker can register again.
func TestBrokerMetricsRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	dir := t.TempDir()
	b := startWithRegistry(t, dir, reg)
	for _, c := range b.Readiness() {
		if !c.OK {
			t.Errorf("after Start, readiness check %q is not OK", c.Name)
		}
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()[0].String()), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const n = 50
	for i := range n {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "m", Value: []byte{byte(i)}}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cl.Close()
	if v, ok := gathered(t, reg, "tributary_topic_records_in_total", map[string]string{"topic": "m"}); !ok || v != n {
		t.Fatalf("records in for m = %v (found %v), want %d", v, ok, n)
	}
	if v, _ := gathered(t, reg, "tributary_partition_high_watermark", map[string]string{"topic": "m", "partition": "0"}); v != n {
		t.Fatalf("high watermark of m-0 = %v, want %d", v, n)
	}
	if v, _ := gathered(t, reg, "tributary_controller_active", map[string]string{}); v != 1 {
		t.Fatalf("tributary_controller_active = %v on a single node, want 1", v)
	}

	stopNode(t, b)
	for _, c := range b.Readiness() {
		if c.OK {
			t.Errorf("after Shutdown, readiness check %q is still OK", c.Name)
		}
	}
	if mfs, err := reg.Gather(); err != nil || len(mfs) != 0 {
		t.Fatalf("after Shutdown the registry still holds %d families (err %v)", len(mfs), err)
	}
	b2 := startWithRegistry(t, dir, reg)
	defer stopNode(t, b2)
	if v, _ := gathered(t, reg, "tributary_partition_high_watermark", map[string]string{"topic": "m", "partition": "0"}); v != n {
		t.Fatalf("after restart, high watermark of m-0 = %v, want %d", v, n)
	}
}
