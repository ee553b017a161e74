package fileconn

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/sdk"
)

func openSink(t *testing.T, raw map[string]string, now func() time.Time) *sink {
	t.Helper()
	k := newSink(slog.New(slog.DiscardHandler), now)
	if err := k.Open(context.Background(), parse(t, sdk.KindSink, raw)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

func write(t *testing.T, k *sink, vs ...string) {
	t.Helper()
	recs := make([]sdk.Record, len(vs))
	for i, v := range vs {
		recs[i] = sdk.Record{Value: []byte(v)}
	}
	if err := k.Write(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

func TestSinkRolls(t *testing.T) {
	clock := &manualClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	cases := []struct {
		name  string
		raw   map[string]string
		steps func(t *testing.T, k *sink)
		want  []string
	}{
		{"by size", map[string]string{"roll.bytes": "12"}, func(t *testing.T, k *sink) {
			write(t, k, "aaaa", "bbbb", "cc", "dddddddddddddddd", "e")
		}, []string{"aaaa\nbbbb\n", "cc\n", "dddddddddddddddd\n", "e\n"}},
		{"by time", map[string]string{"roll.interval": "1m"}, func(t *testing.T, k *sink) {
			write(t, k, "a", "b")
			clock.advance(59 * time.Second)
			write(t, k, "c")
			clock.advance(time.Second)
			write(t, k, "d")
		}, []string{"a\nb\nc\n", "d\n"}},
		{"never by time", map[string]string{"roll.interval": "0"}, func(t *testing.T, k *sink) {
			write(t, k, "a")
			clock.advance(1000 * time.Hour)
			write(t, k, "b")
		}, []string{"a\nb\n"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			c.raw["dir"] = dir
			k := openSink(t, c.raw, clock.now)
			c.steps(t, k)
			if err := k.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := files(t, dir); strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Fatalf("files = %q, want %q", got, c.want)
			}
		})
	}
}

func TestSinkFlushAndClose(t *testing.T) {
	dir := t.TempDir()
	clock := &manualClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	k := openSink(t, map[string]string{"dir": dir}, clock.now)
	write(t, k, "durable")
	if got := files(t, dir); len(got) != 1 || got[0] != "" {
		t.Fatalf("before Flush the file holds %q: records must wait in the buffer", got)
	}
	if err := k.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	write(t, k, "lost")
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	// A new instance never appends to the old file, even within the same
	// millisecond: the sequence number and O_EXCL keep them apart.
	k2 := openSink(t, map[string]string{"dir": dir}, clock.now)
	write(t, k2, "again")
	if err := k2.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := files(t, dir)
	if strings.Join(got, "|") != "durable\n|again\n" {
		t.Fatalf("files = %q", got)
	}
	entries, _ := os.ReadDir(dir)
	if !strings.HasPrefix(entries[0].Name(), "records-20260102T030405.000Z-") {
		t.Fatalf("file name %s", entries[0].Name())
	}
}

func TestSinkJSON(t *testing.T) {
	dir := t.TempDir()
	k := openSink(t, map[string]string{"dir": dir, "format": "json"}, time.Now)
	recs := []sdk.Record{
		{Topic: "t", Partition: 3, Offset: 42, Timestamp: time.UnixMilli(1700000000123), Key: []byte("k"), Value: []byte("v"),
			Headers: []sdk.Header{{Key: "h", Value: []byte("x")}}},
		{Topic: "t", Key: nil, Value: []byte{0xff, 0xfe}},
	}
	if err := k.Write(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	if err := k.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(files(t, dir)[0]), "\n")
	if len(lines) != 2 {
		t.Fatalf("lines = %q", lines)
	}
	var first, second map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
		t.Fatal(err)
	}
	if first["topic"] != "t" || first["partition"] != 3.0 || first["offset"] != 42.0 || first["timestamp_ms"] != 1700000000123.0 ||
		first["key"] != "k" || first["value"] != "v" {
		t.Fatalf("first = %v", first)
	}
	if _, hasKey := second["key"]; hasKey || second["value_b64"] != "//4=" {
		t.Fatalf("second = %v (null key absent, binary value in base64)", second)
	}
}
