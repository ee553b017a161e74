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

// addNote appends a note to the row's.
func (r *row) addNote(n string) {
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

// storageRows turns `go test -bench` output of broker/log into rows: each
// Append/Read benchmark with its raw-file twin (RawFileWrite/RawFileRead of
// the same record size) as the limit.
func storageRows(path string) ([]row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("storage benchmarks: %w", err)
	}
	defer f.Close()
	var names []string
	mbs := map[string]float64{}
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
		for i := 1; i+1 < len(fields); i++ {
			if fields[i+1] == "MB/s" {
				if v, err := strconv.ParseFloat(fields[i], 64); err == nil {
					mbs[name] = v
					names = append(names, name)
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("storage benchmarks: read %s: %w", path, err)
	}
	twin := map[string]string{"Append": "RawFileWrite", "Read": "RawFileRead"}
	var rows []row
	for _, name := range names {
		r := row{Section: "storage (broker/log, in process)", Name: name, MBPerSec: mbs[name]}
		kind, size, _ := strings.Cut(name, "/")
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
