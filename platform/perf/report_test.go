package perf

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestReportJSONAndText(t *testing.T) {
	var h Histogram
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	cases := []struct {
		name     string
		rep      Report
		wantKeys []string
		noKeys   []string
		text     []string
	}{
		{
			name:     "produce with latency",
			rep:      newReport("produce", 1000, 100000, 2, 2*time.Second, &h),
			wantKeys: []string{"mode", "records", "bytes", "errors", "seconds", "records_per_sec", "mb_per_sec", "latency"},
			text:     []string{"produce: 1000 records (0.1 MB) in 2.00s: 500 records/s, 0.05 MB/s, 2 errors", "p99 0.99", "max 1.00"},
		},
		{
			name:     "consume without latency",
			rep:      newReport("consume", 10, 1000, 0, time.Second, nil),
			wantKeys: []string{"mode", "records_per_sec"},
			noKeys:   []string{"latency"},
			text:     []string{"consume: 10 records"},
		},
		{
			name: "zero time",
			rep:  newReport("consume", 0, 0, 0, 0, nil),
			text: []string{"0 records/s"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := c.rep.WriteJSON(&buf); err != nil {
				t.Fatal(err)
			}
			var raw map[string]any
			if err := json.Unmarshal(buf.Bytes(), &raw); err != nil {
				t.Fatalf("report JSON does not parse: %v\n%s", err, buf.String())
			}
			for _, k := range c.wantKeys {
				if _, ok := raw[k]; !ok {
					t.Errorf("JSON lacks %q: %s", k, buf.String())
				}
			}
			for _, k := range c.noKeys {
				if _, ok := raw[k]; ok {
					t.Errorf("JSON has %q: %s", k, buf.String())
				}
			}
			var back Report
			if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
				t.Fatal(err)
			}
			if back.Records != c.rep.Records || back.RecordsPerSec != c.rep.RecordsPerSec ||
				(c.rep.Latency != nil && *back.Latency != *c.rep.Latency) {
				t.Errorf("JSON round trip: got %+v, want %+v", back, c.rep)
			}
			buf.Reset()
			if err := c.rep.WriteText(&buf); err != nil {
				t.Fatal(err)
			}
			for _, s := range c.text {
				if !strings.Contains(buf.String(), s) {
					t.Errorf("text %q lacks %q", buf.String(), s)
				}
			}
		})
	}
	// Percentiles of 1..1000µs are their bucket's top: at most 1/64 above.
	l := Summarize(&h)
	near := func(got, want float64) bool { return got >= want && got <= want*(1+1.0/64) }
	if !near(l.P50, 0.5) || !near(l.P99, 0.99) || !near(l.P999, 0.999) || l.Max != 1 || l.Count != 1000 || l.Mean != 0.5005 {
		t.Errorf("summary of 1..1000µs: %+v", l)
	}
}
