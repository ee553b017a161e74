package e2e

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// scrape reads n's /metrics and returns the samples of the series whose
// name starts with prefix, keyed by the sample's name and labels as
// written ("name{a=\"x\",b=\"y\"}").
func scrape(t *testing.T, n *node, prefix string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + n.api + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: status %d", resp.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read /metrics: %v", err)
	}
	return out
}

// pipelineRecords returns the pipeline's tributary_pipeline_records_total
// samples by outcome.
func pipelineRecords(t *testing.T, n *node, pipeline string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, o := range []string{"in", "out", "filtered", "dead_lettered"} {
		k := `tributary_pipeline_records_total{outcome="` + o + `",pipeline="` + pipeline + `"}`
		if v, ok := scrape(t, n, "tributary_pipeline_records_total")[k]; ok {
			out[o] = v
		}
	}
	return out
}

// connectorState returns the connector's state whose
// tributary_connector_state sample is 1, or "" when there is none.
func connectorState(t *testing.T, n *node, connector string) string {
	t.Helper()
	for k, v := range scrape(t, n, "tributary_connector_state{") {
		if v == 1 && strings.Contains(k, `connector="`+connector+`"`) {
			_, state, _ := strings.Cut(k, `state="`)
			return strings.TrimSuffix(state, `"}`)
		}
	}
	return ""
}
