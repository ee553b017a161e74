package plugins

import (
	"context"
	"testing"
	"time"
)

// TestBatchSizeAdaptsToPluginLatency drives the echo plugin over gRPC: a
// plugin answering well inside the target latency gets ever larger batches
// up to MaxBatch, one slower than the target ever smaller ones down to
// MinBatch, and each call carries exactly the adapted number of records.
func TestBatchSizeAdaptsToPluginLatency(t *testing.T) {
	cases := []struct {
		name    string
		latency time.Duration // Config.BatchLatency
		delay   string        // the plugin's read.delay
		want    []int         // sizes of successive batches
	}{
		// A generous target so a loaded machine still counts 1024 records
		// as fast; the sizer starts at 256 in [8, 1024].
		{"fast plugin grows", 2 * time.Second, "0s", []int{256, 512, 1024, 1024, 1024}},
		// Every Read sleeps longer than the 20ms target.
		{"slow plugin shrinks", 20 * time.Millisecond, "40ms", []int{256, 128, 64, 32, 16, 8, 8}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig(t, "")
			cfg.BatchLatency, cfg.MinBatch, cfg.MaxBatch = c.latency, 8, 1024
			cfg.MaxWait = time.Second
			reg := echoRegistry(t, cfg)
			src := openSource(t, reg, "echo", map[string]string{"read.delay": c.delay}, nil)
			var got []int
			for range c.want {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				recs, err := src.Read(ctx, 1<<20)
				cancel()
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, len(recs))
			}
			for i := range c.want {
				if got[i] != c.want[i] {
					t.Fatalf("batch sizes %v, want %v", got, c.want)
				}
			}
			if s := src.Stats().BatchSize; s != c.want[len(c.want)-1] {
				t.Fatalf("adapted size %d after batches %v", s, got)
			}
		})
	}
}
