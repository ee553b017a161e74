package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/platform/perf"
)

// perfJSON runs `tributary perf ARGS --output json` against s and decodes the report.
func perfJSON(t *testing.T, s *server, args ...string) perf.Report {
	t.Helper()
	out := s.mustCLI(t, nil, append(append([]string{"perf"}, args...), "--output", "json", "--progress", "always", "--progress-interval", "100ms")...)
	var rep perf.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("perf %v: report is not JSON: %v\n%s", args, err, out)
	}
	return rep
}

// checkSane checks the figures of a report agree with each other.
func checkSane(t *testing.T, rep perf.Report, mode string, records int64, size int) {
	t.Helper()
	if rep.Mode != mode || rep.Records != records || rep.Errors != 0 {
		t.Fatalf("%s report: mode %q, %d records, %d errors; want %d records, no errors", mode, rep.Mode, rep.Records, rep.Errors, records)
	}
	if rep.Bytes != records*int64(size) {
		t.Errorf("%s report: %d bytes, want %d", mode, rep.Bytes, records*int64(size))
	}
	if rep.Seconds <= 0 || rep.RecordsPerSec <= 0 || rep.MBPerSec <= 0 {
		t.Errorf("%s report: non-positive rates %+v", mode, rep)
	}
	if got := float64(rep.Records) / rep.Seconds; got < rep.RecordsPerSec*0.999 || got > rep.RecordsPerSec*1.001 {
		t.Errorf("%s report: records/s %.1f disagrees with records/seconds %.1f", mode, rep.RecordsPerSec, got)
	}
}

func checkLatency(t *testing.T, l *perf.Latency, count int64) {
	t.Helper()
	if l == nil {
		t.Fatal("report has no latency")
	}
	if int64(l.Count) != count {
		t.Errorf("latency of %d records, want %d", l.Count, count)
	}
	ordered := []float64{l.P50, l.P95, l.P99, l.P999, l.Max}
	if !slices.IsSorted(ordered) || l.P50 < 0 || l.Max <= 0 {
		t.Errorf("latency percentiles out of order: %+v", l)
	}
}

// TestPerfSmoke runs the three perf modes against a separate broker process
// with small counts and checks each report.
func TestPerfSmoke(t *testing.T) {
	s := startServer(t, t.TempDir())
	const n = 3000

	prod := perfJSON(t, s, "produce", "--topic", "perf-smoke", "--num-records", "3000", "--record-size", "200",
		"--acks", "all", "--partitions", "3", "--producers", "2", "--compression", "lz4")
	checkSane(t, prod, "produce", n, 200)
	checkLatency(t, prod.Latency, n)

	// Again to the same topic: an existing topic is used as it is.
	again := perfJSON(t, s, "produce", "--topic", "perf-smoke", "--num-records", "3000", "--record-size", "200",
		"--acks", "1", "--partitions", "3")
	checkSane(t, again, "produce", n, 200)

	cons := perfJSON(t, s, "consume", "--topic", "perf-smoke", "--consumers", "2")
	checkSane(t, cons, "consume", 2*n, 200)
	if cons.Latency != nil {
		t.Errorf("consume report has latency %+v; consume measures none", cons.Latency)
	}

	// Asked for more than there is: the run ends once nothing arrives for
	// --timeout, with what there was, and the wait is not counted.
	idle := perfJSON(t, s, "consume", "--topic", "perf-smoke", "--num-records", "100000", "--timeout", "1s")
	checkSane(t, idle, "consume", 2*n, 200)
	if idle.Seconds >= 1 {
		t.Errorf("idle-ended consume reports %.2fs: the idle wait was counted", idle.Seconds)
	}

	// Text output, with progress lines on stderr.
	r := s.cli(t, nil, "perf", "consume", "--topic", "perf-smoke", "--num-records", "1000", "--progress", "always", "--progress-interval", "1ms")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "consume: ") || !strings.Contains(r.stdout, "records/s") ||
		!strings.Contains(r.stderr, "perf consume ") || !strings.Contains(r.stderr, "/1000 records") {
		t.Errorf("perf consume text output: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}

	e2e := perfJSON(t, s, "end-to-end", "--topic", "perf-e2e", "--num-records", "2000", "--throughput", "4000",
		"--warmup", "0s", "--acks", "1")
	checkSane(t, e2e, "end-to-end", 2000, 100)
	checkLatency(t, e2e.Latency, 2000)
	// 2000 records at 4000/s take half a second at least.
	if e2e.Seconds < 0.4 {
		t.Errorf("end-to-end at 4000 records/s of 2000 records took %.3fs, want about 0.5s: the rate was not kept", e2e.Seconds)
	}
}

// TestPerfUsageErrors checks bad command lines fail with a usage message and
// contact no broker.
func TestPerfUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"perf"}, "want produce, consume or end-to-end"},
		{[]string{"perf", "fly"}, "unknown mode"},
		{[]string{"perf", "produce"}, "give --num-records or --duration"},
		{[]string{"perf", "produce", "--num-records", "5", "--acks", "2"}, "--acks"},
		{[]string{"perf", "end-to-end", "--num-records", "5", "--record-size", "4"}, "--record-size"},
		{[]string{"perf", "produce", "--num-records", "5", "--compression", "brotli"}, "compression"},
		{[]string{"perf", "consume", "--consumers", "0"}, "--consumers"},
		{[]string{"perf", "consume", "--timeout", "0s"}, "--timeout"},
	}
	for _, c := range cases {
		r := runProgram(t, nil, binPath, append(c.args, "--bootstrap", "127.0.0.1:1", "--request-timeout", "2s")...)
		if r.code != 1 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("tributary %v: exit %d, stderr %q; want exit 1 mentioning %q", c.args, r.code, r.stderr, c.want)
		}
	}
}

// TestServePprofAddr checks the hidden --pprof-addr flag serves pprof on its
// own port and stays out of the flag help.
func TestServePprofAddr(t *testing.T) {
	addr := "127.0.0.1:" + itoa(freePort(t))
	startServer(t, t.TempDir(), "--pprof-addr", addr)
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + addr + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatalf("pprof: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("pprof cmdline: %s", resp.Status)
	}
	help := runProgram(t, nil, binPath, "serve", "-h")
	if strings.Contains(help.stderr, "pprof") {
		t.Errorf("serve -h shows the hidden pprof flag:\n%s", help.stderr)
	}
}

func TestTakeFlag(t *testing.T) {
	cases := []struct {
		args      []string
		value     string
		rest      []string
		wantError bool
	}{
		{[]string{"--a", "1"}, "", []string{"--a", "1"}, false},
		{[]string{"--pprof-addr", "x:1", "--a", "1"}, "x:1", []string{"--a", "1"}, false},
		{[]string{"-pprof-addr=x:2"}, "x:2", []string{}, false},
		{[]string{"--", "--pprof-addr", "x"}, "", []string{"--", "--pprof-addr", "x"}, false},
		{[]string{"--pprof-addr"}, "", nil, true},
		{[]string{"pprof-addr", "x"}, "", []string{"pprof-addr", "x"}, false},
	}
	for _, c := range cases {
		v, rest, err := takeFlag(c.args, pprofFlag)
		if (err != nil) != c.wantError {
			t.Errorf("takeFlag(%q): error %v, want error %v", c.args, err, c.wantError)
			continue
		}
		if err == nil && (v != c.value || !slices.Equal(rest, c.rest)) {
			t.Errorf("takeFlag(%q) = %q, %q; want %q, %q", c.args, v, rest, c.value, c.rest)
		}
	}
}
