package plugins

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tributary-io/tributary/plugins/pluginpb"
	"github.com/tributary-io/tributary/sdk"
)

func TestConfigDefaultsAndValidate(t *testing.T) {
	var c Config
	c.EnsureDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	if c.Dir != DefaultDir || c.MaxMessageBytes != 1048588 || c.HeartbeatMisses != 3 || c.MinBatch != 16 || c.MaxBatch != 8192 {
		t.Fatalf("defaults = %+v", c)
	}
	cases := []struct {
		name   string
		modify func(*Config)
		want   []string
	}{
		{"negative timeouts", func(c *Config) { c.StartTimeout, c.MaxWait = -1, -1 }, []string{"StartTimeout", "MaxWait"}},
		{"tiny messages", func(c *Config) { c.MaxMessageBytes = 10 }, []string{"MaxMessageBytes"}},
		{"batch bounds", func(c *Config) { c.MinBatch, c.MaxBatch = 10, 5 }, []string{"MinBatch = 10, MaxBatch = 5"}},
		{"no misses", func(c *Config) { c.HeartbeatMisses = -2 }, []string{"HeartbeatMisses"}},
		{"all at once", func(c *Config) { c.CallTimeout, c.MaxMessageBytes, c.HeartbeatMisses = -1, 1, -1 },
			[]string{"CallTimeout", "MaxMessageBytes", "HeartbeatMisses"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			c.EnsureDefaults()
			tc.modify(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate() = nil")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %v, want it to mention %s", err, w)
				}
			}
		})
	}
	if _, err := NewRegistry(Config{MaxMessageBytes: 5}); err == nil {
		t.Fatal("NewRegistry accepted an invalid config")
	}
}

func TestExponentialBackoff(t *testing.T) {
	b := ExponentialBackoff{Initial: 100 * time.Millisecond, Max: time.Second}
	cases := []struct {
		attempt int
		want    time.Duration
	}{
		{0, 100 * time.Millisecond}, {1, 100 * time.Millisecond}, {2, 200 * time.Millisecond},
		{4, 800 * time.Millisecond}, {5, time.Second}, {64, time.Second}, {10000, time.Second},
	}
	for _, c := range cases {
		if got := b.Delay(c.attempt); got != c.want {
			t.Errorf("Delay(%d) = %v, want %v", c.attempt, got, c.want)
		}
	}
	j := ExponentialBackoff{Initial: time.Second, Max: time.Minute, Jitter: 0.5}
	for i := 0; i < 100; i++ {
		if d := j.Delay(3); d > 4*time.Second || d < 2*time.Second {
			t.Fatalf("jittered Delay(3) = %v, want within [2s, 4s]", d)
		}
	}
}

func TestBatchSizer(t *testing.T) {
	const target = 50 * time.Millisecond
	type step struct {
		full bool
		took time.Duration
		want int
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"fast full batches grow to the max", []step{{true, time.Millisecond, 512}, {true, time.Millisecond, 1024}, {true, time.Millisecond, 1024}}},
		{"slow full batches shrink to the min", []step{{true, time.Second, 128}, {true, time.Second, 64}, {true, time.Second, 32}, {true, time.Second, 32}}},
		{"partial batches say nothing", []step{{false, time.Millisecond, 256}, {false, time.Second, 256}}},
		{"near the target holds", []step{{true, 40 * time.Millisecond, 256}, {true, 26 * time.Millisecond, 256}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBatchSizer(32, 1024, target)
			if b.size() != 256 {
				t.Fatalf("initial size %d", b.size())
			}
			for i, s := range c.steps {
				b.observe(s.full, s.took)
				if b.size() != s.want {
					t.Fatalf("step %d: size %d, want %d", i, b.size(), s.want)
				}
			}
		})
	}
	if small := newBatchSizer(1, 8, target); small.size() != 4 {
		t.Fatalf("initial size in [1, 8] = %d, want 4 (half the max at most)", small.size())
	}
}

func TestManifestFromProto(t *testing.T) {
	good := func() *pluginpb.ManifestResponse {
		p := sdk.Plugin{Name: "x", Version: "1.2.3", Source: &sdk.SourceDef{
			Spec: sdk.ConfigSpec{Fields: []sdk.Field{{Name: "a", Type: sdk.Int, Description: "d"}}},
			New:  func(sdk.Env) sdk.Source { return nil },
		}}
		return sdk.ManifestToProto(&p)
	}
	m, err := manifestFromProto(good(), "/bin/x")
	if err != nil || m.Name != "x" || m.Version.String() != "1.2.3" || !m.Has(sdk.KindSource) || m.Has(sdk.KindSink) || m.Path != "/bin/x" {
		t.Fatalf("good manifest: %+v, %v", m, err)
	}
	cases := []struct {
		name   string
		modify func(*pluginpb.ManifestResponse)
		want   string
	}{
		{"bad version", func(m *pluginpb.ManifestResponse) { m.Version = "one" }, "plugin version"},
		{"other SDK major", func(m *pluginpb.ManifestResponse) { m.SdkVersion = "99.0.0" }, "built with SDK 99.0.0"},
		{"no kinds", func(m *pluginpb.ManifestResponse) { m.Kinds = nil }, "neither a source nor a sink"},
		{"bad name", func(m *pluginpb.ManifestResponse) { m.Name = "a/b" }, "not a plugin name"},
		{"unsound spec", func(m *pluginpb.ManifestResponse) { m.SourceSpec.Fields[0].Description = "" }, "no description"},
		{"unknown field type", func(m *pluginpb.ManifestResponse) { m.SourceSpec.Fields[0].Type = 99 }, "unknown type"},
		{"unknown kind", func(m *pluginpb.ManifestResponse) { m.Kinds = append(m.Kinds, 7) }, "unknown plugin kind"},
		{"several at once", func(m *pluginpb.ManifestResponse) { m.Version, m.Name = "", "" }, "not a plugin name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pm := good()
			c.modify(pm)
			_, err := manifestFromProto(pm, "/bin/x")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestHclogAdapter(t *testing.T) {
	logs := &logSink{}
	h := newHclogAdapter(slog.New(&logHandler{sink: logs}))
	named := h.Named("echo").Named("stdio").With("k", "v")
	named.Warn("careful", "n", 1)
	h.Log(hclog.Trace, "fine detail")
	h.Log(hclog.Off, "never")
	named.StandardLogger(nil).Print("from the standard logger")
	rec, ok := logs.find("careful")
	if !ok || rec.level != slog.LevelWarn || rec.attrs["logger"] != "echo.stdio" || rec.attrs["k"] != "v" || rec.attrs["n"] != "1" {
		t.Fatalf("warn record = %+v", rec)
	}
	if rec, ok := logs.find("fine detail"); !ok || rec.level != slog.LevelDebug-4 {
		t.Fatalf("trace record = %+v", rec)
	}
	if _, ok := logs.find("never"); ok {
		t.Fatal("a record at level Off was logged")
	}
	if rec, ok := logs.find("from the standard logger"); !ok || rec.level != slog.LevelInfo {
		t.Fatalf("standard logger record = %+v", rec)
	}
	h.Info("plugin process exited")
	if rec, ok := logs.find("plugin process exited"); !ok || rec.level != slog.LevelDebug {
		t.Fatalf("go-plugin's own info record = %+v, want it at debug", rec)
	}
	if got := named.GetLevel(); got != hclog.Trace {
		t.Fatalf("GetLevel() = %v with a handler that takes everything", got)
	}
	quiet := newHclogAdapter(slog.New(slog.NewTextHandler(nil, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if quiet.GetLevel() != hclog.Warn || quiet.IsInfo() || !quiet.IsError() {
		t.Fatalf("a warn-level handler reports level %v", quiet.GetLevel())
	}
	if named.Name() != "echo.stdio" || named.ResetNamed("x").Name() != "x" || len(named.ImpliedArgs()) != 2 {
		t.Fatalf("names and implied args: %q %v", named.Name(), named.ImpliedArgs())
	}
}

func TestLineWriter(t *testing.T) {
	var lines []string
	w := &lineWriter{log: func(l string) { lines = append(lines, l) }}
	for _, chunk := range []string{"one\ntw", "o\r\n", "\n", "three"} {
		if n, err := w.Write([]byte(chunk)); n != len(chunk) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if strings.Join(lines, "|") != "one|two" {
		t.Fatalf("lines = %q (an unterminated line waits)", lines)
	}
	w.Write([]byte(strings.Repeat("x", maxLine)))
	if len(lines) != 3 || len(lines[2]) != len("three")+maxLine {
		t.Fatalf("an overlong line is not logged in pieces: %d lines", len(lines))
	}
}

func TestSortedPairs(t *testing.T) {
	cases := []struct {
		in, want []any
	}{
		{nil, []any{}},
		{[]any{"who", "w", "from", 0, "plugin", "p"}, []any{"from", 0, "plugin", "p", "who", "w"}},
		{[]any{"b", 1, "a", 2, "odd"}, []any{"a", 2, "b", 1, "odd"}},
	}
	for _, c := range cases {
		if got := sortedPairs(c.in); !slices.Equal(got, c.want) {
			t.Errorf("sortedPairs(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
