package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/platform/perf"
)

// pipelineRowName names the pipeline row.
const pipelineRowName = "pipeline topic-to-topic, filter+map, exactly-once"

// pipelineManifest is the measured pipeline: a filter that drops one record
// in four (by id) and a map that rewrites key and value, from %[1]s to
// %[2]s, exactly-once (the default for topic to topic, written out so the
// row keeps measuring it).
const pipelineManifest = `apiVersion: tributary.io/v1
kind: Pipeline
metadata:
  name: bench
spec:
  input:
    topics: [%[1]s]
  processors:
    - filter: value.id %% 4 != 0
    - map:
        key: string(value.id)
        value: '{"id": value.id, "level": upper(value.level), "slow": value.latency_ms >= 500}'
  outputs:
    - topic: %[2]s
  delivery: exactly-once
`

// pipelineInput returns the value of input record id: a JSON log line of
// about size bytes (the msg field pads it).
func pipelineInput(id, size int) []byte {
	levels := [...]string{"info", "warn", "error", "debug"}
	v := fmt.Appendf(nil, `{"id":%d,"level":%q,"latency_ms":%d,"msg":"`, id, levels[id%len(levels)], id*7%1000)
	for len(v) < size-2 {
		v = append(v, 'x')
	}
	return append(v, '"', '}')
}

// pipelineKept is how many of the ids 0..n-1 the filter keeps.
func pipelineKept(n int) int {
	return n - (n+3)/4
}

// pipelineOutputOK reports whether an output record is what the map makes
// of its input: key the id, value with the upper-cased level and "slow".
func pipelineOutputOK(r *kgo.Record) bool {
	id, err := strconv.Atoi(string(r.Key))
	if err != nil || id%4 == 0 {
		return false
	}
	return bytes.Contains(r.Value, []byte(`"slow":`)) && bytes.Contains(r.Value, fmt.Appendf(nil, `"id":%d,`, id))
}

// pipeline measures `tributary pipeline run` (the product's runner, as a
// child process) on a broker of its own: it fills an input topic with
// --pipeline-records JSON records of 100 bytes, starts the pipeline, and
// times from the launch until a read_committed consumer has seen every
// record the filter keeps in the output topic. Start-up (group join, the
// broker's initial rebalance delay, producer ids) is inside that time, and
// said in the note.
func (h *harness) pipeline(ctx context.Context) (row, error) {
	const in, out, size = "pipeline-in", "pipeline-out", 100
	n := h.opts.pipelineRecords
	r := row{Section: secApps, Name: pipelineRowName}
	b, _, err := startBroker(ctx, h.bin, filepath.Join(h.work, "pipeline"), filepath.Join(h.opts.out, "broker-pipeline.log"), false)
	if err != nil {
		return r, fmt.Errorf("pipeline: %w", err)
	}
	defer b.stop()
	for _, t := range []string{in, out} {
		if err := perf.EnsureTopic(ctx, b.seeds(), t, 1); err != nil {
			return r, fmt.Errorf("pipeline: %w", err)
		}
	}
	h.logf("pipeline: writing %d input records", n)
	if err := fillPipelineInput(ctx, b.seeds(), in, n, size); err != nil {
		return r, fmt.Errorf("pipeline: %w", err)
	}
	manifest := filepath.Join(h.work, "pipeline.yaml")
	if err := os.WriteFile(manifest, fmt.Appendf(nil, pipelineManifest, in, out), 0o644); err != nil {
		return r, fmt.Errorf("pipeline manifest: %w", err)
	}

	want := pipelineKept(n)
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.seeds()...), kgo.ClientID("tributary-bench"), kgo.ConsumeTopics(out),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return r, fmt.Errorf("pipeline output reader: %w", err)
	}
	defer cl.Close()

	var res pipelineResult
	rep, err := measure(b, func() (perf.Report, error) {
		res, err = h.runPipeline(ctx, b, manifest, cl, want)
		rep := perf.Report{Mode: "pipeline", Seconds: res.done.Seconds()}
		if res.seen >= want && rep.Seconds > 0 {
			rep.Records, rep.Bytes = int64(n), int64(n*size)
			rep.RecordsPerSec, rep.MBPerSec = float64(n)/rep.Seconds, float64(n*size)/rep.Seconds/1e6
		}
		return rep, err
	})
	r = reportRow(secApps, pipelineRowName, rep)
	if err != nil {
		return r, err
	}
	r.addNote(fmt.Sprintf("%d in, %d out; first output %.1f s after launch", n, res.seen, res.first.Seconds()))
	if steady := res.done - res.first; steady > 0 && res.seenAtFirst < want {
		r.addNote(fmt.Sprintf("%.0f in/s after it", float64(n)*float64(want-res.seenAtFirst)/float64(want)/steady.Seconds()))
	}
	if res.cores > 0 {
		r.addNote(fmt.Sprintf("pipeline process %.2f cores", res.cores))
	}
	if res.bad > 0 || res.seen != want {
		r.addNote(fmt.Sprintf("WRONG OUTPUT: %d records, %d not as mapped, want %d", res.seen, res.bad, want))
	}
	h.logf("pipeline: %s", r.Note)
	return r, nil
}

// fillPipelineInput writes n input records to topic, bounded to two minutes.
func fillPipelineInput(ctx context.Context, seeds []string, topic string, n, size int) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ClientID("tributary-bench"), kgo.DefaultProduceTopic(topic),
		kgo.ProducerBatchMaxBytes(batchBytes), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		return fmt.Errorf("input writer: %w", err)
	}
	defer cl.Close()
	errs := make(chan error, 1)
	for id := range n {
		cl.Produce(ctx, &kgo.Record{Value: pipelineInput(id, size)}, func(_ *kgo.Record, err error) {
			if err != nil {
				select {
				case errs <- err:
				default:
				}
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return fmt.Errorf("write input: %w", err)
	}
	select {
	case err := <-errs:
		return fmt.Errorf("write input: %w", err)
	default:
		return nil
	}
}

// pipelineResult is what one pipeline run showed, times from its launch.
type pipelineResult struct {
	first, done       time.Duration // first output seen; all wanted output seen
	seen, seenAtFirst int           // output records in all; in the first fetch
	bad               int           // output records that are not what the map makes
	cores             float64       // the pipeline process's CPU over done
}

// runPipeline launches `tributary pipeline run` on manifest, reads the output
// with cl until want records have arrived (at most --pipeline-timeout), and
// stops the pipeline with SIGTERM.
func (h *harness) runPipeline(ctx context.Context, b *brokerProc, manifest string, cl *kgo.Client, want int) (pipelineResult, error) {
	var res pipelineResult
	start := time.Now()
	p, err := launch(h.bin, []string{"pipeline", "run", "-f", manifest, "--bootstrap", b.kafka,
		"--instance", "bench", "--stats-interval", "0", "--log-level", "info"}, filepath.Join(h.opts.out, "pipeline.log"))
	if err != nil {
		return res, err
	}
	defer func() {
		if err := p.stop(); err != nil {
			h.logf("pipeline: %v", err)
		}
	}()
	deadline := start.Add(h.opts.pipelineTimeout)
	for res.seen < want && time.Now().Before(deadline) {
		select {
		case <-p.done:
			return res, fmt.Errorf("pipeline run exited after %d of %d output records (see pipeline.log)", res.seen, want)
		default:
		}
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		fs := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		fs.EachError(func(t string, part int32, err error) {
			if err != context.DeadlineExceeded {
				h.logf("pipeline: read %s/%d: %v", t, part, err)
			}
		})
		fs.EachRecord(func(r *kgo.Record) {
			res.seen++
			if !pipelineOutputOK(r) {
				res.bad++
			}
		})
		if res.first == 0 && res.seen > 0 {
			res.first, res.seenAtFirst = time.Since(start), res.seen
		}
	}
	res.done = time.Since(start)
	if cpu, err := p.cpuSeconds(); err == nil && res.done > 0 {
		res.cores = cpu / res.done.Seconds()
	}
	if res.seen < want {
		return res, fmt.Errorf("pipeline: %d of %d output records after %s", res.seen, want, h.opts.pipelineTimeout)
	}
	// Anything committed beyond want would be a duplicate: one more short look.
	pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	cl.PollFetches(pctx).EachRecord(func(*kgo.Record) { res.seen++ })
	cancel()
	return res, nil
}
