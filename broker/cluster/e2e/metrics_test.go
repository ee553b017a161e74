package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// metricOn reads a node's /metrics and sums the samples of family name
// whose labels include match (ok: at least one matched).
func metricOn(t testing.TB, n *node, name string, match map[string]string) (sum float64, ok bool) {
	t.Helper()
	cl := http.Client{Timeout: 5 * time.Second}
	resp, err := cl.Get("http://" + n.http + "/metrics")
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("node %d /metrics: %v", n.id, err)
	}
series:
	for _, m := range fams[name].GetMetric() {
		for _, lp := range m.GetLabel() {
			if v, want := match[lp.GetName()]; want && v != lp.GetValue() {
				continue series
			}
		}
		ok = true
		switch {
		case m.GetCounter() != nil:
			sum += m.GetCounter().GetValue()
		default:
			sum += m.GetGauge().GetValue()
		}
	}
	return sum, ok
}

// waitMetricOn polls node n's /metrics until cond holds for name{match}.
func waitMetricOn(t testing.TB, n *node, limit time.Duration, name string, match map[string]string, what string, cond func(float64) bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		v, ok := metricOn(t, n, name, match)
		if ok && cond(v) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %d: %s%v = %v (present %v) after %s, want %s", n.id, name, match, v, ok, limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
