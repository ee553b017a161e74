package perf

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Report is the result of one perf run. Its JSON form is what `tributary perf
// --output json` prints and what the bench harness reads.
type Report struct {
	// Mode is produce, consume or end-to-end.
	Mode string `json:"mode"`
	// Records and Bytes count what was acknowledged (produce), read (consume)
	// or read back (end-to-end); Bytes counts record values only.
	Records int64 `json:"records"`
	Bytes   int64 `json:"bytes"`
	// Errors counts records the client gave up on.
	Errors int64 `json:"errors"`
	// Seconds is the measured wall time.
	Seconds float64 `json:"seconds"`
	// RecordsPerSec and MBPerSec are Records and Bytes over Seconds (MB = 10^6 bytes).
	RecordsPerSec float64 `json:"records_per_sec"`
	MBPerSec      float64 `json:"mb_per_sec"`
	// Latency is the acknowledgement latency (produce) or the time from the
	// producer's stamp in the record to its arrival at the consumer
	// (end-to-end). Nil for consume, which has no per-record latency.
	Latency *Latency `json:"latency,omitempty"`
}

// Latency summarises a Histogram in milliseconds.
type Latency struct {
	Count uint64  `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
}

// Summarize turns h into a Latency, or nil when h recorded nothing.
func Summarize(h *Histogram) *Latency {
	if h == nil || h.Count() == 0 {
		return nil
	}
	return &Latency{
		Count: h.Count(),
		Mean:  ms(h.Mean()),
		P50:   ms(h.Quantile(0.50)),
		P95:   ms(h.Quantile(0.95)),
		P99:   ms(h.Quantile(0.99)),
		P999:  ms(h.Quantile(0.999)),
		Max:   ms(h.Max()),
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// newReport fills the rates of a report from its counts and elapsed time.
func newReport(mode string, records, bytes, errs int64, elapsed time.Duration, h *Histogram) Report {
	r := Report{Mode: mode, Records: records, Bytes: bytes, Errors: errs, Seconds: elapsed.Seconds(), Latency: Summarize(h)}
	if r.Seconds > 0 {
		r.RecordsPerSec = float64(records) / r.Seconds
		r.MBPerSec = float64(bytes) / 1e6 / r.Seconds
	}
	return r
}

// WriteJSON writes r as one indented JSON object.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write %s report: %w", r.Mode, err)
	}
	return nil
}

// WriteText writes r as a few human-readable lines.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d records (%.1f MB) in %.2fs: %.0f records/s, %.2f MB/s",
		r.Mode, r.Records, float64(r.Bytes)/1e6, r.Seconds, r.RecordsPerSec, r.MBPerSec)
	if r.Errors > 0 {
		fmt.Fprintf(&b, ", %d errors", r.Errors)
	}
	b.WriteByte('\n')
	if l := r.Latency; l != nil {
		fmt.Fprintf(&b, "latency ms: mean %.2f, p50 %.2f, p95 %.2f, p99 %.2f, p99.9 %.2f, max %.2f (%d samples)\n",
			l.Mean, l.P50, l.P95, l.P99, l.P999, l.Max, l.Count)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write %s report: %w", r.Mode, err)
	}
	return nil
}
