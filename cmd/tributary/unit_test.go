package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestParseArgsInterspersed(t *testing.T) {
	tests := []struct {
		args       []string
		positional []string
		partitions int
		configs    string
	}{
		{[]string{"orders"}, []string{"orders"}, -1, ""},
		{[]string{"orders", "--partitions", "3"}, []string{"orders"}, 3, ""},
		{[]string{"--partitions", "3", "orders", "--config", "a=1", "--config", "b=x=y"}, []string{"orders"}, 3, "a=1,b=x=y"},
		{[]string{"a", "b", "--partitions=2", "c"}, []string{"a", "b", "c"}, 2, ""},
		{[]string{"--", "--partitions", "x"}, []string{"--partitions", "x"}, -1, ""},
	}
	for _, tc := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		p := fs.Int("partitions", -1, "")
		var kv kvList
		fs.Var(&kv, "config", "")
		got, err := parseArgs(fs, tc.args)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if !slices.Equal(got, tc.positional) || *p != tc.partitions || kv.String() != tc.configs {
			t.Errorf("%v: positional %v partitions %d configs %q", tc.args, got, *p, kv.String())
		}
	}
}

func TestRecordFormat(t *testing.T) {
	r := &kgo.Record{Topic: "t", Partition: 2, Offset: 41, Key: []byte("k"), Value: []byte("hello"),
		Timestamp: time.UnixMilli(1700000000123),
		Headers:   []kgo.RecordHeader{{Key: "a", Value: []byte("1")}, {Key: "b", Value: []byte("2")}}}
	null := &kgo.Record{Topic: "t", Value: []byte("v")}
	tests := []struct {
		format string
		rec    *kgo.Record
		want   string
	}{
		{`%v\n`, r, "hello\n"},
		{`%k\t%v\n`, r, "k\thello\n"},
		{`%t/%p@%o %T`, r, "t/2@41 1700000000123"},
		{`[%h] %K %S 100%%`, r, "[a=1,b=2] 1 5 100%"},
		{`%s\\`, r, `hello\`},
		{`%K:%k:%v`, null, "-1::v"},
	}
	for _, tc := range tests {
		f, err := parseRecordFormat(tc.format)
		if err != nil {
			t.Fatalf("%q: %v", tc.format, err)
		}
		if got := string(f.append(nil, tc.rec)); got != tc.want {
			t.Errorf("%q = %q, want %q", tc.format, got, tc.want)
		}
	}
	for _, bad := range []string{"%q", `\x`, "%"} {
		if _, err := parseRecordFormat(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1700000000000", 1700000000000, true},
		{"2024-05-01T12:00:00Z", time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC).UnixMilli(), true},
		{"2024-05-01T14:00:00.5+02:00", time.Date(2024, 5, 1, 12, 0, 0, 5e8, time.UTC).UnixMilli(), true},
		{"yesterday", 0, false},
	}
	for _, tc := range tests {
		got, err := parseTimestamp(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("%q = %d, %v; want %d ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestRunDispatch(t *testing.T) {
	tests := []struct {
		args     []string
		code     int
		inStderr string
	}{
		{nil, 1, "Usage: tributary <command>"},
		{[]string{"help"}, 0, "Commands:"},
		{[]string{"nope"}, 1, `unknown command "nope"`},
		{[]string{"topic"}, 1, "no action given"},
		{[]string{"topic", "create", "-h"}, 0, "--partitions"},
		{[]string{"topic", "create"}, 1, "want exactly one topic name, got 0 (see 'tributary topic -h')"},
		{[]string{"produce", "--topic", "t", "--acks", "2"}, 1, `--acks "2"`},
		{[]string{"produce", "--topic", "t", "--compression", "brotli"}, 1, `--compression "brotli"`},
		{[]string{"serve", "extra"}, 1, `unexpected argument "extra"`},
	}
	for _, tc := range tests {
		var stderr bytes.Buffer
		c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr,
			env: func(string) (string, bool) { return "", false }, exit: func(int) { t.Fatal("exit called") }}
		code := run(context.Background(), tc.args, c)
		if code != tc.code || !strings.Contains(stderr.String(), tc.inStderr) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.inStderr)
		}
	}
}

func TestBootstrapFromEnv(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c := &cli{env: func(k string) (string, bool) {
		if k == bootstrapEnv {
			return "a:1, b:2", true
		}
		return "", false
	}}
	f := addClientFlags(fs, c)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.seeds(), []string{"a:1", "b:2"}) {
		t.Fatalf("seeds = %v", f.seeds())
	}
	if err := fs.Parse([]string{"--bootstrap", "c:3"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.seeds(), []string{"c:3"}) {
		t.Fatalf("flag did not override env: %v", f.seeds())
	}
}

func TestAwaitShutdown(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	t.Run("one signal shuts down gracefully", func(t *testing.T) {
		sig := make(chan os.Signal, 2)
		sig <- syscall.SIGTERM
		var gotDeadline bool
		err := awaitShutdown(sig, func(ctx context.Context) error {
			_, gotDeadline = ctx.Deadline()
			return nil
		}, 5*time.Second, logger, func(int) { t.Fatal("exit called") })
		if err != nil || !gotDeadline {
			t.Fatalf("err %v, deadline set %v", err, gotDeadline)
		}
	})
	t.Run("shutdown error is returned", func(t *testing.T) {
		sig := make(chan os.Signal, 2)
		sig <- syscall.SIGINT
		err := awaitShutdown(sig, func(context.Context) error { return errors.New("flush failed") },
			time.Second, logger, func(int) { t.Fatal("exit called") })
		if err == nil || !strings.Contains(err.Error(), "shutdown: flush failed") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a shutdown that ignores its deadline exits 1 after the timeout", func(t *testing.T) {
		sig := make(chan os.Signal, 2)
		sig <- syscall.SIGTERM
		release := make(chan struct{})
		exitCode := -1
		err := awaitShutdown(sig, func(context.Context) error {
			<-release // a step that never looks at its context
			return nil
		}, 100*time.Millisecond, logger, func(code int) { exitCode = code; close(release) })
		if exitCode != 1 || err == nil || !strings.Contains(err.Error(), "timed out") {
			t.Fatalf("exit code %d, err %v; want exit(1) after the timeout", exitCode, err)
		}
	})
	t.Run("second signal exits 1 at once", func(t *testing.T) {
		sig := make(chan os.Signal, 2)
		sig <- syscall.SIGTERM
		started := make(chan struct{})
		exitCode := -1
		go func() { <-started; sig <- syscall.SIGTERM }()
		begin := time.Now()
		err := awaitShutdown(sig, func(ctx context.Context) error {
			close(started)
			<-ctx.Done() // a drain that would take the whole timeout
			return ctx.Err()
		}, time.Minute, logger, func(code int) { exitCode = code })
		if exitCode != 1 || err == nil {
			t.Fatalf("exit code %d, err %v; want exit(1)", exitCode, err)
		}
		if d := time.Since(begin); d > 10*time.Second {
			t.Fatalf("took %s, want an immediate exit", d)
		}
	})
}

// Without --bootstrap or TRIBUTARY_BOOTSTRAP, client commands talk to
// localhost:9092, where `make run` serves.
func TestBootstrapDefault(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	f := addClientFlags(fs, &cli{env: func(string) (string, bool) { return "", false }})
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if got := f.seeds(); !slices.Equal(got, []string{"localhost:9092"}) {
		t.Fatalf("default seeds %v, want [localhost:9092]", got)
	}
}
