package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tributary-io/tributary/platform/perf"
)

// measured is a perf report with the broker's share of the machine during it.
type measured struct {
	perf.Report
	// cores is the broker's CPU seconds over the run's seconds; 0 when unknown.
	cores float64
}

// measure runs fn and works out the broker's CPU use over it.
func measure(b *brokerProc, fn func() (perf.Report, error)) (measured, error) {
	c0, err0 := b.cpuSeconds()
	rep, err := fn()
	c1, err1 := b.cpuSeconds()
	m := measured{Report: rep}
	if err0 == nil && err1 == nil && rep.Seconds > 0 {
		m.cores = (c1 - c0) / rep.Seconds
	}
	return m, err
}

// harness runs the scenarios against child brokers.
type harness struct {
	opts options
	bin  string
	work string // temp folder: data dirs and limit files
	logw io.Writer
}

// Sections of the table.
const (
	secBroker  = "single node (separate process, loopback)"
	secLimits  = "machine limits (same run, same bytes)"
	secCluster = "cluster, pipelines, streams"
	secNode    = "memory and start-up"
)

// batchBytes is the producer batch size of every run (the goal's 16 KiB).
const batchBytes = 16 << 10

// notYet are rows for what this build cannot run yet. To enable one, replace
// its entry with a scenario that measures it (for RF=3: start three brokers
// with the cluster flags and produce with acks=-1 to a topic of replication
// factor 3, as h.produce does for one).
var notYet = []row{
	{Section: secCluster, Name: "produce 100B acks=-1, 3 nodes RF=3", Note: "not available: needs issue #6 (cluster)"},
	{Section: secCluster, Name: "end-to-end 100B, 3 nodes RF=3 acks=-1", Note: "not available: needs issue #6 (cluster); goal p99 < 10 ms"},
	{Section: secCluster, Name: "pipeline topic-to-topic throughput", Note: "not available: needs issue #9 (pipelines)"},
	{Section: secCluster, Name: "streams stateful throughput", Note: "not available: needs issue #8 (streams)"},
}

func (h *harness) logf(format string, args ...any) {
	fmt.Fprintf(h.logw, "bench: "+format+"\n", args...)
}

// all runs every scenario in order and returns the rows measured so far when
// one fails.
func (h *harness) all(ctx context.Context) ([]row, error) {
	var rows []row
	idle, err := h.idleMemory(ctx)
	if err != nil {
		return rows, err
	}
	b, _, err := startBroker(ctx, h.bin, filepath.Join(h.work, "data"), filepath.Join(h.opts.out, "broker.log"), h.opts.profile)
	if err != nil {
		return rows, err
	}
	defer func() {
		if b != nil {
			_ = b.stop()
		}
	}()
	h.logf("broker at %s (data %s)", b.kafka, b.dataDir)

	type sized struct {
		name string
		size int
	}
	sizes := []sized{{"100B", 100}, {"1KiB", 1024}}
	var (
		limitRows []row
		consume   []row
		peak100   float64
	)
	for _, sz := range sizes {
		var fileWrite, fileRead, tcp perf.Limit
		for _, acks := range []int{1, -1} {
			topic := fmt.Sprintf("produce-%s-acks%d", sz.name, acks)
			rep, err := h.produce(ctx, b, topic, sz.size, acks)
			if err != nil {
				return rows, err
			}
			if acks == 1 {
				if sz.size == 100 {
					peak100 = rep.RecordsPerSec
				}
				// The limits move the bytes this run produced, in batch-sized writes.
				if fileWrite, fileRead, tcp, err = h.limits(ctx, rep.Bytes); err != nil {
					return rows, err
				}
				limitRows = append(limitRows,
					limitRow(fmt.Sprintf("%s (%s run's bytes)", fileWrite.Name, sz.name), fileWrite),
					limitRow(fmt.Sprintf("%s (%s run's bytes)", fileRead.Name, sz.name), fileRead),
					limitRow(fmt.Sprintf("%s (%s run's bytes)", tcp.Name, sz.name), tcp))
			}
			r := reportRow(secBroker, fmt.Sprintf("produce %s acks=%s", sz.name, acksName(acks)), rep)
			r.Limit, r.LimitMBPerSec = "file write", fileWrite.MBPerSec
			if sz.size == 100 && acks == 1 {
				r.addNote("goal >= 800000 rec/s and >= 0.50x")
			}
			rows = append(rows, r)
		}
		rep, err := h.consume(ctx, b, fmt.Sprintf("produce-%s-acks1", sz.name), "consume-"+sz.name)
		if err != nil {
			return rows, err
		}
		r := reportRow(secBroker, fmt.Sprintf("consume %s", sz.name), rep)
		r.Limit, r.LimitMBPerSec = "tcp copy", tcp.MBPerSec
		r.addNote(map[int]string{100: "goal >= 1500000 rec/s", 1024: "goal >= 0.60x"}[sz.size])
		consume = append(consume, r)
	}
	rows = append(rows, consume...)

	rate := peak100 / 2
	rep, err := h.endToEnd(ctx, b, rate)
	if err != nil {
		return rows, err
	}
	r := reportRow(secBroker, fmt.Sprintf("end-to-end 100B acks=1 at %.0f rec/s (50%% of peak)", rate), rep)
	r.addNote("goal p99 < 5 ms")
	rows = append(rows, r)
	rows = append(rows, limitRows...)
	rows = append(rows, notYet...)

	// Start-up: crash the broker with everything above on disk and time the
	// recovery to ready.
	size := dirSize(b.dataDir)
	b.kill()
	b = nil
	b2, took, err := startBroker(ctx, h.bin, filepath.Join(h.work, "data"), filepath.Join(h.opts.out, "broker.log"), false)
	if err != nil {
		return rows, fmt.Errorf("restart after kill: %w", err)
	}
	b = b2
	rows = append(rows, idle, row{Section: secNode,
		Name: fmt.Sprintf("start-up after SIGKILL, %.1f GiB of log", float64(size)/(1<<30)),
		Note: fmt.Sprintf("ready in %.2f s (goal < 5 s with 10 GiB)", took.Seconds())})
	return rows, nil
}

// idleMemory starts a fresh broker, creates 1,000 partitions (10 topics of
// 100) and reports its resident memory once they sit idle.
func (h *harness) idleMemory(ctx context.Context) (row, error) {
	b, _, err := startBroker(ctx, h.bin, filepath.Join(h.work, "idle"), filepath.Join(h.opts.out, "broker-idle.log"), false)
	if err != nil {
		return row{}, err
	}
	defer b.stop()
	for i := range 10 {
		if err := perf.EnsureTopic(ctx, []string{b.kafka}, fmt.Sprintf("idle-%d", i), 100); err != nil {
			return row{}, err
		}
	}
	// Let start-up garbage be collected and the partitions settle.
	time.Sleep(5 * time.Second)
	rss, err := b.rssBytes()
	r := row{Section: secNode, Name: "broker RSS, 1000 idle partitions"}
	if err != nil {
		r.Note = "not available: " + err.Error()
	} else {
		r.Note = fmt.Sprintf("%.1f MiB (goal < 200 MiB)", float64(rss)/(1<<20))
	}
	h.logf("idle memory: %s", r.Note)
	return r, nil
}

// produce runs one unthrottled produce run of the configured duration,
// profiling the broker for the acks=1 runs when asked.
func (h *harness) produce(ctx context.Context, b *brokerProc, topic string, size, acks int) (measured, error) {
	h.logf("%s: producing for %s", topic, h.opts.duration)
	stopProf := h.profile(ctx, b, topic, h.opts.duration-time.Second, acks == 1)
	rep, err := measure(b, func() (perf.Report, error) {
		return perf.Produce(ctx, perf.ProduceConfig{
			Brokers: []string{b.kafka}, Topic: topic, RecordSize: size, Duration: h.opts.duration,
			Acks: acks, BatchBytes: batchBytes, Partitions: 1, Progress: h.logw, ProgressEvery: 2 * time.Second,
		})
	})
	stopProf()
	if err != nil {
		return rep, fmt.Errorf("%s: %w", topic, err)
	}
	h.logf("%s: %.0f records/s, %.1f MB/s", topic, rep.RecordsPerSec, rep.MBPerSec)
	return rep, nil
}

// consume reads topic once for the row; when profiling, it goes on reading it
// again while the profile window lasts.
func (h *harness) consume(ctx context.Context, b *brokerProc, topic, name string) (measured, error) {
	cfg := perf.ConsumeConfig{Brokers: []string{b.kafka}, Topic: topic}
	h.logf("%s: reading %s", name, topic)
	const window = 6 * time.Second
	stopProf := h.profile(ctx, b, name, window, true)
	rep, err := measure(b, func() (perf.Report, error) { return perf.Consume(ctx, cfg) })
	if err == nil && h.opts.profile {
		for end := time.Now().Add(window); time.Now().Before(end) && err == nil; {
			_, err = perf.Consume(ctx, cfg)
		}
	}
	stopProf()
	if err != nil {
		return rep, fmt.Errorf("%s: %w", name, err)
	}
	h.logf("%s: %.0f records/s, %.1f MB/s", name, rep.RecordsPerSec, rep.MBPerSec)
	return rep, nil
}

// endToEnd runs the fixed-rate latency scenario.
func (h *harness) endToEnd(ctx context.Context, b *brokerProc, rate float64) (measured, error) {
	h.logf("end-to-end: %.0f records/s for %s", rate, h.opts.e2e)
	stopProf := h.profile(ctx, b, "end-to-end", h.opts.e2e-2*time.Second, true)
	rep, err := measure(b, func() (perf.Report, error) {
		return perf.EndToEnd(ctx, perf.EndToEndConfig{
			Produce: perf.ProduceConfig{
				Brokers: []string{b.kafka}, Topic: "end-to-end", RecordSize: 100, Duration: h.opts.e2e, Rate: rate,
				Acks: 1, BatchBytes: batchBytes, Partitions: 1, Progress: h.logw, ProgressEvery: 3 * time.Second,
			},
			Warmup: 3 * time.Second,
		})
	})
	stopProf()
	if err != nil {
		return rep, fmt.Errorf("end-to-end: %w", err)
	}
	return rep, nil
}

// profile, when profiling is on and wanted, saves the broker's CPU profile and
// the allocations made over the next d into the output folder. The returned
// stop waits for both.
func (h *harness) profile(ctx context.Context, b *brokerProc, name string, d time.Duration, want bool) (stop func()) {
	if !h.opts.profile || !want || b.pprof == "" {
		return func() {}
	}
	secs := max(1, int(d.Seconds()))
	var wg sync.WaitGroup
	for _, p := range []struct{ path, file string }{
		{fmt.Sprintf("profile?seconds=%d", secs), "cpu-" + name + ".pprof"},
		{fmt.Sprintf("allocs?seconds=%d", secs), "allocs-" + name + ".pprof"},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			file := filepath.Join(h.opts.out, p.file)
			if err := b.fetchProfile(ctx, p.path, file); err != nil {
				h.logf("%s: %v", name, err)
				return
			}
			h.logf("saved %s", file)
		}()
	}
	return wg.Wait
}

// limits measures the machine on n bytes: sequential file write (batch-sized
// writes, no fsync, as the broker's default flush policy) and read-back beside
// the broker's data, and a loopback TCP copy.
func (h *harness) limits(ctx context.Context, n int64) (w, r, tcp perf.Limit, err error) {
	w, path, err := perf.FileWrite(h.work, n, batchBytes, 0)
	if path != "" {
		defer os.Remove(path)
	}
	if err != nil {
		return w, r, tcp, err
	}
	if r, err = perf.FileRead(path, 1<<20); err != nil {
		return w, r, tcp, err
	}
	tcp, err = perf.TCPCopy(ctx, n, 1<<20)
	h.logf("limits on %d MB: file write %.0f MB/s, file read %.0f MB/s, tcp copy %.0f MB/s",
		n/1e6, w.MBPerSec, r.MBPerSec, tcp.MBPerSec)
	return w, r, tcp, err
}

func reportRow(section, name string, rep measured) row {
	r := row{Section: section, Name: name, RecordsPerSec: rep.RecordsPerSec, MBPerSec: rep.MBPerSec, BrokerCores: rep.cores}
	if l := rep.Latency; l != nil {
		r.P50, r.P99, r.P999 = &l.P50, &l.P99, &l.P999
	}
	if rep.Errors > 0 {
		r.Note = fmt.Sprintf("%d errors", rep.Errors)
	}
	return r
}

func limitRow(name string, l perf.Limit) row {
	return row{Section: secLimits, Name: name, MBPerSec: l.MBPerSec}
}

func acksName(acks int) string {
	if acks == -1 {
		return "-1"
	}
	return fmt.Sprint(acks)
}

// dirSize adds up the sizes of the files under dir.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if info, err := d.Info(); err == nil && d.Type().IsRegular() {
			n += info.Size()
		}
		return nil
	})
	return n
}
