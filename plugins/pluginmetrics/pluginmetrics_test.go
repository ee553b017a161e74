package pluginmetrics

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// series gathers reg as sorted "name{k=v,...} value" lines.
func series(t *testing.T, reg *prometheus.Registry) []string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, lp := range m.GetLabel() {
				ls = append(ls, lp.GetName()+"="+lp.GetValue())
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			out = append(out, fmt.Sprintf("%s{%s} %g", mf.GetName(), strings.Join(ls, ","), v))
		}
	}
	slices.Sort(out)
	return out
}

func TestNamesAreTheRegisteredOnes(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	// Give every vector one series so Gather lists it.
	if err := m.SetConnectorState("c", "running"); err != nil {
		t.Fatal(err)
	}
	if err := m.SetTaskState("c", 0, "running"); err != nil {
		t.Fatal(err)
	}
	m.PipelineRecords.WithLabelValues("p", OutcomeIn).Inc()
	m.PluginRestarts.WithLabelValues("file").Inc()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, mf := range mfs {
		got = append(got, mf.GetName())
	}
	want := Names()
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("registered %v, Names() says %v", got, want)
	}
	if _, err := New(reg); err == nil {
		t.Fatal("registering twice on one registry succeeded")
	}
}

func TestConnectorStateIsOneHot(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		state   string
		wantErr bool
	}{
		{"running", false},
		{"failed", false},
		{"exploded", true}, // unknown: rejected, previous state kept
	}
	for _, s := range steps {
		err := m.SetConnectorState("db", s.state)
		if (err != nil) != s.wantErr {
			t.Fatalf("SetConnectorState(%q) error = %v, want error %v", s.state, err, s.wantErr)
		}
	}
	got := series(t, reg)
	want := []string{
		"tributary_connector_state{connector=db,state=failed} 1",
		"tributary_connector_state{connector=db,state=paused} 0",
		"tributary_connector_state{connector=db,state=restarting} 0",
		"tributary_connector_state{connector=db,state=running} 0",
		"tributary_connector_state{connector=db,state=unassigned} 0",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("series:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	if err := m.SetTaskState("db", 2, "running"); err != nil {
		t.Fatal(err)
	}
	m.ForgetConnector("db")
	if got := series(t, reg); len(got) != 0 {
		t.Fatalf("after ForgetConnector, series remain: %v", got)
	}
}
