package fileconn

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tributary-io/tributary/sdk"
)

// manualClock is a clock tests move by hand.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func parse(t testing.TB, kind sdk.Kind, raw map[string]string) sdk.Config {
	t.Helper()
	p := Plugin()
	cfg, err := p.ParseConfig(kind, raw)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// openSrc opens a source with raw (poll.interval defaults to 5ms here) at pos.
func openSrc(t testing.TB, raw map[string]string, pos sdk.Position, now func() time.Time) *source {
	t.Helper()
	if _, ok := raw["poll.interval"]; !ok {
		raw["poll.interval"] = "5ms"
	}
	if now == nil {
		now = time.Now
	}
	s := newSource(slog.New(slog.DiscardHandler), now)
	if err := s.Open(context.Background(), parse(t, sdk.KindSource, raw), pos); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// readN reads until n records arrived, failing after a few seconds.
func readN(t testing.TB, s *source, n int) []sdk.Record {
	t.Helper()
	var out []sdk.Record
	deadline := time.Now().Add(5 * time.Second)
	for len(out) < n {
		if time.Now().After(deadline) {
			t.Fatalf("read %d records, want %d: %q", len(out), n, values(out))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		recs, err := s.Read(ctx, n-len(out))
		cancel()
		if err != nil && ctx.Err() == nil {
			t.Fatal(err)
		}
		out = append(out, recs...)
	}
	return out
}

// readNone checks that nothing arrives within a few poll intervals.
func readNone(t testing.TB, s *source) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Millisecond)
	defer cancel()
	if recs, _ := s.Read(ctx, 100); len(recs) > 0 {
		t.Fatalf("unexpected records %q", values(recs))
	}
}

func values(rs []sdk.Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r.Value)
	}
	return out
}

func header(r sdk.Record, key string) string {
	v, _ := r.HeaderValue(key)
	return string(v)
}

// appendLines appends lines (each with a newline) to path.
func appendLines(t testing.TB, path string, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, l := range lines {
		if _, err := f.WriteString(l + "\n"); err != nil {
			t.Fatal(err)
		}
	}
}

// numbered returns lines "<prefix>-<i>" for i in [from, to).
func numbered(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s-%d", prefix, i))
	}
	return out
}

func joined(vs []string) string { return strings.Join(vs, " ") }

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
