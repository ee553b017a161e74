package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func familyNames(t *testing.T, reg *prometheus.Registry) map[string]int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, mf := range mfs {
		out[mf.GetName()] = len(mf.GetMetric())
	}
	return out
}

func TestTopicCountersAreCachedAndRetained(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	a := m.Topic("a")
	if m.Topic("a") != a {
		t.Fatal("Topic returned new counters for a known topic")
	}
	a.BytesIn.Add(10)
	m.Topic("b").RecordsIn.Inc()
	if got := familyNames(t, reg)[TopicBytesIn]; got != 2 {
		t.Fatalf("%s has %d series, want 2 (a and b)", TopicBytesIn, got)
	}

	m.RetainTopics(func(topic string) bool { return topic == "a" })
	if got := familyNames(t, reg)[TopicBytesIn]; got != 1 {
		t.Fatalf("after dropping b, %s has %d series, want 1", TopicBytesIn, got)
	}
	if v := counterValue(t, m.Topic("a").BytesIn); v != 10 {
		t.Fatalf("a's bytes in = %v after retaining it, want 10", v)
	}
	// A topic created again under the same name starts from zero.
	if v := counterValue(t, m.Topic("b").RecordsIn); v != 0 {
		t.Fatalf("recreated b's records in = %v, want 0", v)
	}
}

func TestRegisterAndUnregister(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(reg); err == nil {
		t.Fatal("a second set of instruments registered on the same registry")
	}
	extra := prometheus.NewGauge(prometheus.GaugeOpts{Name: "tributary_test_extra", Help: "test"})
	if err := m.Register(extra); err != nil {
		t.Fatal(err)
	}
	names := familyNames(t, reg)
	for _, want := range []string{PurgatorySize, ISRShrinksTotal, ISRExpandsTotal, "tributary_test_extra"} {
		if _, ok := names[want]; !ok {
			t.Errorf("%s not registered (have %v)", want, names)
		}
	}
	m.Unregister()
	if names := familyNames(t, reg); len(names) != 0 {
		t.Fatalf("after Unregister the registry still has %v", names)
	}
	if _, err := New(reg); err != nil {
		t.Fatalf("registering again after Unregister: %v", err)
	}
}

// BenchmarkProduceHotPath is what a produce pays per partition: the cached
// topic lookup and two counter adds, plus one latency observation.
func BenchmarkProduceHotPath(b *testing.B) {
	m, err := New(nil)
	if err != nil {
		b.Fatal(err)
	}
	obs := m.Request("Produce")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tm := m.Topic("orders")
			tm.BytesIn.Add(16384)
			tm.RecordsIn.Add(100)
			obs.Observe(0.0004)
		}
	})
}
