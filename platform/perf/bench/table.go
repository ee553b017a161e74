package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
)

// row is one line of the bench table. A row with a limit shows the ratio of
// its MB/s to the limit's, measured in the same run on the same machine.
type row struct {
	Section       string   `json:"section"`
	Name          string   `json:"name"`
	RecordsPerSec float64  `json:"records_per_sec,omitempty"`
	MBPerSec      float64  `json:"mb_per_sec,omitempty"`
	P50           *float64 `json:"p50_ms,omitempty"`
	P99           *float64 `json:"p99_ms,omitempty"`
	P999          *float64 `json:"p999_ms,omitempty"`
	// BrokerCores is the broker's CPU time over the run's wall time: how
	// much of the machine the broker used (the load generator uses the rest).
	BrokerCores   float64 `json:"broker_cores,omitempty"`
	Limit         string  `json:"limit,omitempty"`
	LimitMBPerSec float64 `json:"limit_mb_per_sec,omitempty"`
	// Note says what the row is measured against (the goal), or why
	// it was not measured.
	Note string `json:"note,omitempty"`
}

// addNote appends a note to the row's; an empty one adds nothing.
func (r *row) addNote(n string) {
	if n == "" {
		return
	}
	if r.Note != "" {
		n = r.Note + "; " + n
	}
	r.Note = n
}

func (r row) ratio() (float64, bool) {
	if r.LimitMBPerSec <= 0 || r.MBPerSec <= 0 {
		return 0, false
	}
	return r.MBPerSec / r.LimitMBPerSec, true
}

// writeTable prints rows as one aligned table.
func writeTable(w io.Writer, rows []row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\trecords/s\tMB/s\tp50 ms\tp99 ms\tp99.9 ms\tbroker cores\tlimit\tlimit MB/s\tratio\tnote")
	section := ""
	for _, r := range rows {
		if r.Section != section {
			section = r.Section
			fmt.Fprintf(tw, "[%s]\n", section)
		}
		cells := []string{r.Name, num(r.RecordsPerSec, 0), num(r.MBPerSec, 1), opt(r.P50), opt(r.P99), opt(r.P999),
			num(r.BrokerCores, 2), r.Limit, num(r.LimitMBPerSec, 1), "-", r.Note}
		if x, ok := r.ratio(); ok {
			cells[9] = fmt.Sprintf("%.2fx", x)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}

func num(v float64, prec int) string {
	if v == 0 {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

func opt(v *float64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v, 'f', 2, 64)
}

// goBench is one benchmark line of `go test -bench` output: the name
// without the GOMAXPROCS suffix, and each reported metric by its unit.
type goBench struct {
	name    string
	metrics map[string]float64
}

// parseGoBench reads the benchmark lines of `go test -bench` output at path,
// in order.
func parseGoBench(path string) ([]goBench, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []goBench
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		name := strings.TrimPrefix(fields[0], "Benchmark")
		if i := strings.LastIndex(name, "-"); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i] // the GOMAXPROCS suffix
			}
		}
		b := goBench{name: name, metrics: map[string]float64{}}
		// After the name and the iteration count come value-unit pairs.
		for i := 2; i+1 < len(fields); i += 2 {
			if v, err := strconv.ParseFloat(fields[i], 64); err == nil {
				b.metrics[fields[i+1]] = v
			}
		}
		out = append(out, b)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return out, nil
}

// storageRows turns `go test -bench` output of broker/log into rows: each
// Append/Read benchmark with its raw-file twin (RawFileWrite/RawFileRead of
// the same record size) as the limit.
func storageRows(path string) ([]row, error) {
	benches, err := parseGoBench(path)
	if err != nil {
		return nil, fmt.Errorf("storage benchmarks: %w", err)
	}
	mbs := map[string]float64{}
	for _, b := range benches {
		if v, ok := b.metrics["MB/s"]; ok {
			mbs[b.name] = v
		}
	}
	twin := map[string]string{"Append": "RawFileWrite", "Read": "RawFileRead"}
	var rows []row
	for _, b := range benches {
		v, ok := b.metrics["MB/s"]
		if !ok {
			continue
		}
		r := row{Section: "storage (broker/log, in process)", Name: b.name, MBPerSec: v}
		kind, size, _ := strings.Cut(b.name, "/")
		if t, ok := twin[kind]; ok {
			lim := t + "/" + size
			if v, ok := mbs[lim]; ok {
				r.Limit, r.LimitMBPerSec = lim, v
			}
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// streamsRows turns `go test -bench WordCount` output of streams/ into one
// row per exactly-once setting: BenchmarkWordCount reports input words/s of
// one word-count instance (split, repartition by word, count, output)
// against a broker process of its own, start-up included.
func streamsRows(path string) ([]row, error) {
	benches, err := parseGoBench(path)
	if err != nil {
		return nil, fmt.Errorf("streams benchmarks: %w", err)
	}
	modes := map[string]string{"WordCount/eos=true": "exactly-once", "WordCount/eos=false": "at-least-once"}
	var rows []row
	for _, b := range benches {
		mode, ok := modes[b.name]
		words, has := b.metrics["words/s"]
		if !ok || !has {
			continue
		}
		rows = append(rows, row{Section: secApps, Name: "streams word count, " + mode, RecordsPerSec: words,
			Note: "input words/s (lines of 10 words), 1 instance, 4 partitions, start-up included; streams BenchmarkWordCount"})
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("streams benchmarks: no WordCount words/s in %s", path)
	}
	return rows, nil
}
