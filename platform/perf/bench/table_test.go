package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sampleGoBench = `goos: linux
BenchmarkAppend/100B-2    	   33434	     43910 ns/op	 371.60 MB/s	      34 B/op	       0 allocs/op
BenchmarkRawFileWrite/100B-2         	  108484	     25944 ns/op	 742.00 MB/s
BenchmarkRead/1KiB-2                 	    6922	    165479 ns/op	6264.21 MB/s	      72 B/op	       4 allocs/op
BenchmarkOther-2                 	    6922	    165479 ns/op
PASS
`

func TestStorageRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.txt")
	if err := os.WriteFile(path, []byte(sampleGoBench), 0o644); err != nil {
		t.Fatal(err)
	}
	rows, err := storageRows(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name  string
		mbs   float64
		limit string
		ratio float64
	}{
		{"Append/100B", 371.6, "RawFileWrite/100B", 371.6 / 742},
		{"RawFileWrite/100B", 742, "", 0},
		{"Read/1KiB", 6264.21, "", 0}, // its twin RawFileRead/1KiB was not run
	}
	if len(rows) != len(want) {
		t.Fatalf("got %d rows %+v, want %d", len(rows), rows, len(want))
	}
	for i, w := range want {
		r := rows[i]
		x, ok := r.ratio()
		if r.Name != w.name || r.MBPerSec != w.mbs || r.Limit != w.limit || (ok && x != w.ratio) || ok != (w.ratio != 0) {
			t.Errorf("row %d: %+v (ratio %v %v), want %+v", i, r, x, ok, w)
		}
	}
	if _, err := storageRows(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing file gave no error")
	}
}

func TestWriteTable(t *testing.T) {
	p99 := 3.25
	rows := []row{
		{Section: "a", Name: "produce", RecordsPerSec: 1000, MBPerSec: 50, P99: &p99, Limit: "file write", LimitMBPerSec: 200},
		{Section: "b", Name: "cluster", Note: "not available: needs issue #6 (cluster)"},
	}
	rows[0].addNote("goal x")
	rows[0].addNote("")
	rows[0].addNote("goal y")
	var buf bytes.Buffer
	if err := writeTable(&buf, rows); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, s := range []string{"[a]", "[b]", "0.25x", "3.25", "goal x; goal y", "not available: needs issue #6"} {
		if !strings.Contains(out, s) {
			t.Errorf("table lacks %q:\n%s", s, out)
		}
	}
	if lines := strings.Count(out, "\n"); lines != 5 {
		t.Errorf("table has %d lines, want header, 2 sections and 2 rows:\n%s", lines, out)
	}
}

const sampleStreamsBench = `goos: linux
pkg: github.com/tributary-io/tributary/streams
BenchmarkWordCount/eos=true-2         	       3	    354411 words/s
BenchmarkWordCount/eos=false-2        	       3	    322945.5 words/s
BenchmarkWordCount/other-2        	       3	    1 words/s
PASS
`

func TestStreamsRows(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	rows, err := streamsRows(write("streams.txt", sampleStreamsBench))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name string
		rate float64
	}{
		{"streams word count, exactly-once", 354411},
		{"streams word count, at-least-once", 322945.5},
	}
	if len(rows) != len(want) {
		t.Fatalf("got %d rows %+v, want %d", len(rows), rows, len(want))
	}
	for i, w := range want {
		if r := rows[i]; r.Name != w.name || r.RecordsPerSec != w.rate || r.Section != secApps || !strings.Contains(r.Note, "words/s") {
			t.Errorf("row %d: %+v, want %+v", i, r, w)
		}
	}
	// A run that failed or printed no words/s is an error, not an empty row.
	if _, err := streamsRows(write("fail.txt", "--- FAIL: BenchmarkWordCount\nFAIL\n")); err == nil {
		t.Error("output without WordCount figures gave no error")
	}
	if _, err := streamsRows(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing file gave no error")
	}
}

func TestParseGoBench(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.txt")
	if err := os.WriteFile(path, []byte(sampleGoBench+sampleStreamsBench), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := parseGoBench(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name string
		unit string
		v    float64
	}{
		{"Append/100B", "allocs/op", 0},
		{"RawFileWrite/100B", "MB/s", 742},
		{"Read/1KiB", "B/op", 72},
		{"Other", "ns/op", 165479},
		{"WordCount/eos=true", "words/s", 354411},
		{"WordCount/eos=false", "words/s", 322945.5},
		{"WordCount/other", "words/s", 1},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d benchmarks %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		v, ok := got[i].metrics[w.unit]
		if got[i].name != w.name || !ok || v != w.v {
			t.Errorf("benchmark %d: %+v, want %s with %v %s", i, got[i], w.name, w.v, w.unit)
		}
	}
}

func TestRunsSelectsGroups(t *testing.T) {
	tests := []struct {
		only string
		want map[string]bool
	}{
		{"", map[string]bool{groupSingle: true, groupCluster: true, groupPipeline: true, groupStreams: true}},
		{"cluster", map[string]bool{groupCluster: true}},
		{"pipeline, streams", map[string]bool{groupPipeline: true, groupStreams: true}},
	}
	for _, tt := range tests {
		if err := checkOnly(tt.only); err != nil {
			t.Errorf("checkOnly(%q): %v", tt.only, err)
		}
		h := &harness{opts: options{only: tt.only}}
		for _, g := range []string{groupSingle, groupCluster, groupPipeline, groupStreams} {
			if got := h.runs(g); got != tt.want[g] {
				t.Errorf("--only %q: runs(%s) = %v, want %v", tt.only, g, got, tt.want[g])
			}
		}
	}
}

func TestCheckOnlyRejectsUnknownGroups(t *testing.T) {
	for _, only := range []string{"clusters", "single,", "single,nodes"} {
		if err := checkOnly(only); err == nil {
			t.Errorf("checkOnly(%q) gave no error", only)
		}
	}
}

func TestRateNote(t *testing.T) {
	tests := []struct {
		target, reached float64
		want            string
	}{
		{1000, 1000, ""},
		{1000, 960, ""}, // within 5%
		{1000, 800, "target rate not kept: 80%"},
		{0, 5, ""},
	}
	for _, tt := range tests {
		if got := rateNote(tt.target, tt.reached); got != tt.want {
			t.Errorf("rateNote(%v, %v) = %q, want %q", tt.target, tt.reached, got, tt.want)
		}
	}
}
