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
