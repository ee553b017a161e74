// Command bench is the `make bench` harness: it starts `tributary serve` as a
// separate process on loopback with a temporary data dir, measures it with the
// perf package (produce, consume, end-to-end), measures the limits of the same
// machine in the same run (sequential file write and read of the same bytes,
// loopback TCP copy), and prints one table with each row's ratio to its limit.
// It then starts three nodes as one cluster (RF=3 produce with acks=-1 and
// end-to-end latency), runs a topic-to-topic pipeline with `tributary
// pipeline run` against a broker of its own, and adds rows parsed from `go
// test -bench` output: broker/log storage (--storage) and streams word count
// with exactly-once on and off (--streams). --only picks scenario groups.
// With --profile it saves the single-node broker's CPU and allocation profiles.
//
// Figures are printed, never asserted: they depend on the machine.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"
)

// options are the harness's flags.
type options struct {
	bin     string
	out     string
	storage string
	streams string
	only    string
	// pipelineRecords and pipelineTimeout size and bound the pipeline run.
	pipelineRecords int
	pipelineTimeout time.Duration
	profile         bool
	duration        time.Duration
	e2e             time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "bin/tributary", "the tributary binary to run as the broker")
	flag.StringVar(&o.out, "out", "bench-out", "folder for the table, JSON results, broker log and profiles")
	flag.StringVar(&o.storage, "storage", "", "`go test -bench` output of broker/log to add as storage rows")
	flag.StringVar(&o.streams, "streams", "", "`go test -bench WordCount` output of streams/ to add as streams rows")
	flag.StringVar(&o.only, "only", "", "comma-separated scenario `groups` to run: single, cluster, pipeline, streams (default all)")
	flag.IntVar(&o.pipelineRecords, "pipeline-records", 1_000_000, "input records of the pipeline run")
	flag.DurationVar(&o.pipelineTimeout, "pipeline-timeout", 3*time.Minute, "longest the pipeline run may take")
	flag.BoolVar(&o.profile, "profile", false, "save the broker's pprof CPU and allocation profiles")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each produce run")
	flag.DurationVar(&o.e2e, "e2e-duration", 15*time.Second, "length of the end-to-end run")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, stdout, logw io.Writer) error {
	if err := checkOnly(o.only); err != nil {
		return err
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("output folder: %w", err)
	}
	bin, err := filepath.Abs(o.bin)
	if err != nil {
		return fmt.Errorf("binary path: %w", err)
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("broker binary (run make build first): %w", err)
	}
	work, err := os.MkdirTemp("", "tributary-bench-")
	if err != nil {
		return fmt.Errorf("work dir: %w", err)
	}
	defer os.RemoveAll(work)

	h := &harness{opts: o, bin: bin, work: work, logw: logw}
	started := time.Now()
	loadBefore := loadAverage()
	rows, err := h.all(ctx)
	if o.storage != "" {
		st, serr := storageRows(o.storage)
		if serr != nil {
			fmt.Fprintln(logw, "bench:", serr)
		}
		rows = append(rows, st...)
	}
	fmt.Fprintf(logw, "bench: done in %s\n\n", time.Since(started).Round(time.Second))
	// The broker and the load generator share this machine's cores; anything
	// else running skews every figure, so say how busy it was.
	footer := fmt.Sprintf("\n%d cores; load average %.2f before the run, %.2f after (other work on the machine skews the figures)\n",
		runtime.NumCPU(), loadBefore, loadAverage())
	if werr := h.save(rows, footer, stdout); werr != nil && err == nil {
		err = werr
	}
	return err
}

// save prints the table and footer to stdout and keeps them, with the rows as
// JSON, in the output folder.
func (h *harness) save(rows []row, footer string, stdout io.Writer) error {
	f, err := os.Create(filepath.Join(h.opts.out, "table.txt"))
	if err != nil {
		return fmt.Errorf("save table: %w", err)
	}
	defer f.Close()
	w := io.MultiWriter(stdout, f)
	if err := writeTable(w, rows); err != nil {
		return err
	}
	if _, err := io.WriteString(w, footer); err != nil {
		return fmt.Errorf("save table: %w", err)
	}
	data, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	if err := os.WriteFile(filepath.Join(h.opts.out, "results.json"), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("save results: %w", err)
	}
	return nil
}
