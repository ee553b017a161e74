package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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

// target is what a scenario runs against: one broker or a cluster.
type target interface {
	// seeds are the Kafka bootstrap addresses.
	seeds() []string
	// cpuSeconds is the CPU time the broker processes have used so far.
	cpuSeconds() (float64, error)
	// pprofAddr is the pprof listener to profile, or "".
	pprofAddr() string
}

// measure runs fn and works out the brokers' CPU use over it.
func measure(t target, fn func() (perf.Report, error)) (measured, error) {
	c0, err0 := t.cpuSeconds()
	rep, err := fn()
	c1, err1 := t.cpuSeconds()
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

// Sections of the table, in the order they are printed.
const (
	secBroker = "single node (separate process, loopback)"
	secLimits = "machine limits (same run, same bytes)"
	secApps   = "pipelines and streams (one node)"
	secNode   = "memory and start-up"
)

// batchBytes is the producer batch size of every run (the goal's 16 KiB).
const batchBytes = 16 << 10

// Scenario groups for --only.
const (
	groupSingle   = "single"
	groupCluster  = "cluster"
	groupPipeline = "pipeline"
	groupStreams  = "streams"
)

// checkOnly rejects an --only list that names an unknown group.
func checkOnly(only string) error {
	if only == "" {
		return nil
	}
	for _, s := range strings.Split(only, ",") {
		switch strings.TrimSpace(s) {
		case groupSingle, groupCluster, groupPipeline, groupStreams:
		default:
			return fmt.Errorf("--only: unknown group %q (want %s, %s, %s or %s)", s, groupSingle, groupCluster, groupPipeline, groupStreams)
		}
	}
	return nil
}

// runs reports whether the scenario group g is selected.
func (h *harness) runs(g string) bool {
	if h.opts.only == "" {
		return true
	}
	for _, s := range strings.Split(h.opts.only, ",") {
		if strings.TrimSpace(s) == g {
			return true
		}
	}
	return false
}

func (h *harness) logf(format string, args ...any) {
	fmt.Fprintf(h.logw, "bench: "+format+"\n", args...)
}

// all runs every selected scenario group in turn, each against brokers of
// its own, and returns the rows by section. A failed single-node run ends
// the run (the limits and the peak rate come from it); a failed three-node,
// pipeline or streams group leaves a row saying so and the others still run.
func (h *harness) all(ctx context.Context) ([]row, error) {
	var (
		single, limits, three, apps, node []row
		fileWrite                         perf.Limit
		errs                              []error
	)
	assemble := func() []row {
		var rows []row
		for _, part := range [][]row{single, limits, three, apps, node} {
			rows = append(rows, part...)
		}
		return rows
	}
	if h.runs(groupSingle) {
		var err error
		if single, limits, node, fileWrite, err = h.singleNode(ctx); err != nil {
			return assemble(), err
		}
	}
	if h.runs(groupCluster) {
		rows, err := h.threeNodes(ctx, fileWrite)
		if err != nil {
			errs = append(errs, err)
			rows = append(rows, row{Section: secThree, Name: "three-node runs", Note: "failed: " + err.Error()})
		}
		three = rows
	}
	if h.runs(groupPipeline) {
		r, err := h.pipeline(ctx)
		if err != nil {
			errs = append(errs, err)
			r = row{Section: secApps, Name: pipelineRowName, Note: "failed: " + err.Error()}
		}
		apps = append(apps, r)
	}
	if h.runs(groupStreams) && h.opts.streams != "" {
		rows, err := streamsRows(h.opts.streams)
		if err != nil {
			errs = append(errs, err)
			rows = append(rows, row{Section: secApps, Name: "streams word count", Note: "failed: " + err.Error()})
		}
		apps = append(apps, rows...)
	}
	return assemble(), errors.Join(errs...)
}

// singleNode measures one broker: its memory with idle partitions (on a
// broker of its own), produce and consume of 100-byte and 1 KiB records,
// end-to-end latency at half the 100-byte peak, the machine limits on the
// same bytes, and start-up after SIGKILL with all that data. It returns the
// rows by section and the file-write limit of the 100-byte run.
func (h *harness) singleNode(ctx context.Context) (rows, limitRows, node []row, fileWrite100 perf.Limit, err error) {
	idle, err := h.idleMemory(ctx)
	if err != nil {
		return rows, limitRows, node, fileWrite100, err
	}
	dataDir := filepath.Join(h.work, "data")
	// The data is gigabytes; the later groups do not need it.
	defer os.RemoveAll(dataDir)
	b, _, err := startBroker(ctx, h.bin, dataDir, filepath.Join(h.opts.out, "broker.log"), h.opts.profile)
	if err != nil {
		return rows, limitRows, node, fileWrite100, err
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
		consume []row
		peak100 float64
	)
	for _, sz := range sizes {
		var fileWrite, fileRead, tcp perf.Limit
		for _, acks := range []int{1, -1} {
			topic := fmt.Sprintf("produce-%s-acks%d", sz.name, acks)
			rep, err := h.produce(ctx, b, topic, sz.size, acks, 1)
			if err != nil {
				return rows, limitRows, node, fileWrite100, err
			}
			if acks == 1 {
				// The limits move the bytes this run produced, in batch-sized writes.
				if fileWrite, fileRead, tcp, err = h.limits(ctx, rep.Bytes); err != nil {
					return rows, limitRows, node, fileWrite100, err
				}
				if sz.size == 100 {
					peak100, fileWrite100 = rep.RecordsPerSec, fileWrite
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
			return rows, limitRows, node, fileWrite100, err
		}
		r := reportRow(secBroker, fmt.Sprintf("consume %s", sz.name), rep)
		r.Limit, r.LimitMBPerSec = "tcp copy", tcp.MBPerSec
		r.addNote(map[int]string{100: "goal >= 1500000 rec/s", 1024: "goal >= 0.60x"}[sz.size])
		consume = append(consume, r)
	}
	rows = append(rows, consume...)

	rate := peak100 / 2
	rep, err := h.endToEnd(ctx, b, "end-to-end", rate, 1, 1)
	if err != nil {
		return rows, limitRows, node, fileWrite100, err
	}
	r := reportRow(secBroker, fmt.Sprintf("end-to-end 100B acks=1 at %.0f rec/s (50%% of peak)", rate), rep)
	r.addNote("goal p99 < 5 ms")
	r.addNote(rateNote(rate, rep.RecordsPerSec))
	rows = append(rows, r)

	// Start-up: crash the broker with everything above on disk and time the
	// recovery to ready.
	size := dirSize(b.dataDir)
	b.kill()
	b = nil
	b2, took, err := startBroker(ctx, h.bin, dataDir, filepath.Join(h.opts.out, "broker.log"), false)
	if err != nil {
		return rows, limitRows, node, fileWrite100, fmt.Errorf("restart after kill: %w", err)
	}
	b = b2
	node = append(node, idle, row{Section: secNode,
		Name: fmt.Sprintf("start-up after SIGKILL, %.1f GiB of log", float64(size)/(1<<30)),
		Note: fmt.Sprintf("ready in %.2f s (goal < 5 s with 10 GiB)", took.Seconds())})
	return rows, limitRows, node, fileWrite100, nil
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
// profiling the broker for the acks=1 runs when asked. partitions > 0
// creates the topic (replication factor 1); 0 uses the existing topic.
func (h *harness) produce(ctx context.Context, t target, topic string, size, acks int, partitions int32) (measured, error) {
	h.logf("%s: producing for %s", topic, h.opts.duration)
	stopProf := h.profile(ctx, t, topic, h.opts.duration-time.Second, acks == 1)
	rep, err := measure(t, func() (perf.Report, error) {
		return perf.Produce(ctx, perf.ProduceConfig{
			Brokers: t.seeds(), Topic: topic, RecordSize: size, Duration: h.opts.duration,
			Acks: acks, BatchBytes: batchBytes, Partitions: partitions, Progress: h.logw, ProgressEvery: 2 * time.Second,
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
func (h *harness) consume(ctx context.Context, t target, topic, name string) (measured, error) {
	cfg := perf.ConsumeConfig{Brokers: t.seeds(), Topic: topic}
	h.logf("%s: reading %s", name, topic)
	const window = 6 * time.Second
	stopProf := h.profile(ctx, t, name, window, true)
	rep, err := measure(t, func() (perf.Report, error) { return perf.Consume(ctx, cfg) })
	if err == nil && h.opts.profile && t.pprofAddr() != "" {
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

// endToEnd runs the fixed-rate latency scenario with 100-byte records on
// topic; partitions as for produce.
func (h *harness) endToEnd(ctx context.Context, t target, topic string, rate float64, acks int, partitions int32) (measured, error) {
	h.logf("%s: %.0f records/s for %s", topic, rate, h.opts.e2e)
	stopProf := h.profile(ctx, t, topic, h.opts.e2e-2*time.Second, true)
	rep, err := measure(t, func() (perf.Report, error) {
		return perf.EndToEnd(ctx, perf.EndToEndConfig{
			Produce: perf.ProduceConfig{
				Brokers: t.seeds(), Topic: topic, RecordSize: 100, Duration: h.opts.e2e, Rate: rate,
				Acks: acks, BatchBytes: batchBytes, Partitions: partitions, Progress: h.logw, ProgressEvery: 3 * time.Second,
			},
			Warmup: 3 * time.Second,
		})
	})
	stopProf()
	if err != nil {
		return rep, fmt.Errorf("%s: %w", topic, err)
	}
	return rep, nil
}

// profile, when profiling is on and wanted and t has a pprof listener, saves
// the broker's CPU profile and the allocations made over the next d into the
// output folder. The returned stop waits for both.
func (h *harness) profile(ctx context.Context, t target, name string, d time.Duration, want bool) (stop func()) {
	addr := t.pprofAddr()
	if !h.opts.profile || !want || addr == "" {
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
			if err := fetchProfile(ctx, addr, p.path, file); err != nil {
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

// rateNote says when a fixed-rate run fell short of its target rate, whose
// latency then includes the backlog; "" when it kept up (within 5%).
func rateNote(target, reached float64) string {
	if target <= 0 || reached >= 0.95*target {
		return ""
	}
	return fmt.Sprintf("target rate not kept: %.0f%%", 100*reached/target)
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
