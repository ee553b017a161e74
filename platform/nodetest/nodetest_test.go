package nodetest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

var bin *Binary

func TestMain(m *testing.M) {
	bin = MustBuild()
	code := m.Run()
	bin.Remove()
	os.Exit(code)
}

// roundTrip produces value to topic on n and reads the topic back from the
// start, returning every value it holds.
func roundTrip(t *testing.T, n *Node, topic, value string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Kafka()), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if value != "" {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(value)}).FirstErr(); err != nil {
			t.Fatalf("produce to %s: %v", topic, err)
		}
	}
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		t.Fatalf("end offsets of %s: %v", topic, err)
	}
	end, _ := ends.Lookup(topic, 0)
	var got []string
	for int64(len(got)) < end.Offset {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %s: %v after %q", topic, ctx.Err(), got)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	return got
}

// TestNodeLifecycle starts a node, writes and reads a record, kills it,
// restarts it on the same ports and data dir, finds the record again, and
// stops it with SIGTERM.
func TestNodeLifecycle(t *testing.T) {
	n := bin.StartNode(t, Flags("--worker-disabled"))
	first := n.Process()
	if got := roundTrip(t, n, "lifecycle", "one"); len(got) != 1 || got[0] != "one" {
		t.Fatalf("before the kill the topic holds %q, want [one]", got)
	}
	if out := first.Output().String(); !strings.Contains(out, "node started") {
		t.Fatalf("output does not show the start:\n%s", Tail(out, 20))
	}

	n.Kill()
	if !first.Exited() || first.ExitCode() != -1 {
		t.Fatalf("after Kill: exited %v, exit code %d; want exited, -1 (a signal)", first.Exited(), first.ExitCode())
	}
	kafka, httpAddr := n.Kafka(), n.HTTP()
	n.Restart()
	if n.Process() == first || n.Kafka() != kafka || n.HTTP() != httpAddr {
		t.Fatalf("restart: new process %v, addresses %s %s, want a new process on %s %s",
			n.Process() != first, n.Kafka(), n.HTTP(), kafka, httpAddr)
	}
	if got := roundTrip(t, n, "lifecycle", "two"); len(got) != 2 || got[0] != "one" || got[1] != "two" {
		t.Fatalf("after the restart the topic holds %q, want [one two]", got)
	}

	code, err := n.Stop(20 * time.Second)
	if err != nil || code != 0 {
		t.Fatalf("stop: exit code %d, %v; want 0", code, err)
	}
	if out := n.Process().Output().String(); !strings.Contains(out, "node stopped") {
		t.Errorf("output of the second run does not show the shutdown:\n%s", Tail(out, 20))
	}
}

// TestStartFailure: a node that exits while starting is reported with its
// output, instead of being waited for until the timeout.
func TestStartFailure(t *testing.T) {
	// A data dir that is a file: serve cannot open its logs there.
	file := t.TempDir() + "/not-a-dir"
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	n := bin.NewNode(t, DataDir(file), ReadyTimeout(30*time.Second))
	if err := n.launch(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := n.waitReady()
	if err == nil || !strings.Contains(err.Error(), "exited while starting") || !strings.Contains(err.Error(), "not-a-dir") {
		t.Fatalf("waitReady = %v; want an early exit naming the data dir", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("the early exit took %s to notice", d)
	}
	if err := n.launch(); err != nil {
		t.Fatalf("launch after an exit: %v", err)
	}
	n.Kill()
}

// recordingTB is a failed test as a Process's cleanup sees it: it collects
// the cleanups and the lines logged instead of running and printing them.
type recordingTB struct {
	testing.TB
	mu       sync.Mutex
	logs     []string
	cleanups []func()
}

func (r *recordingTB) Failed() bool { return true }
func (r *recordingTB) Helper()      {}
func (r *recordingTB) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}
func (r *recordingTB) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}

func (r *recordingTB) runCleanups() string {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	return strings.Join(r.logs, "\n")
}

// TestFailureReport: when the test failed, an exited process's output is
// logged, and a running node is asked for a goroutine dump, saved in a file
// with its whole output, and killed.
func TestFailureReport(t *testing.T) {
	cases := []struct {
		name  string
		start func(tb testing.TB) *Process
		want  []string // in the logged report
		dump  bool     // a file with a goroutine dump was written
	}{
		{
			name: "exited",
			start: func(tb testing.TB) *Process {
				p := bin.Start(tb, "version-cmd", "version", "--output", "json")
				<-p.Done()
				return p
			},
			want: []string{"version-cmd output", `"version"`},
		},
		{
			name: "running node",
			start: func(tb testing.TB) *Process {
				return bin.StartNode(tb, Name("stuck-node"), Flags("--worker-disabled")).Process()
			},
			want: []string{"stuck-node output", "node started", "goroutine dump"},
			dump: true,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &recordingTB{TB: t}
			p := c.start(rec)
			report := rec.runCleanups()
			if !p.Exited() {
				t.Fatal("the cleanup left the process running")
			}
			for _, w := range c.want {
				if !strings.Contains(report, w) {
					t.Errorf("report lacks %q:\n%s", w, report)
				}
			}
			i := strings.Index(report, "goroutine dump: ")
			if (i >= 0) != c.dump {
				t.Fatalf("dump file named: %v, want %v", i >= 0, c.dump)
			}
			if c.dump {
				path := strings.TrimSpace(report[i+len("goroutine dump: "):])
				data, err := os.ReadFile(path)
				_ = os.Remove(path)
				if err != nil || !strings.Contains(string(data), "goroutine ") {
					t.Fatalf("dump file %s: %v, holds a goroutine dump: %v", path, err, strings.Contains(string(data), "goroutine "))
				}
			}
		})
	}
}

func TestRun(t *testing.T) {
	cases := []struct {
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{args: []string{"version"}, code: 0, inStdout: "tributary"},
		{args: []string{"no-such-command"}, code: 1, inStderr: "no-such-command"},
	}
	for _, c := range cases {
		r := bin.Run(t, nil, c.args...)
		if r.Code != c.code || !strings.Contains(r.Stdout, c.inStdout) || !strings.Contains(r.Stderr, c.inStderr) {
			t.Errorf("tributary %v: code %d, stdout %q, stderr %q; want code %d, stdout with %q, stderr with %q",
				c.args, r.Code, r.Stdout, r.Stderr, c.code, c.inStdout, c.inStderr)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		opts []Opt
		want string // in the error; empty for none
	}{
		{nil, ""},
		{[]Opt{Ports("127.0.0.1:1", "127.0.0.1:2"), ReadyTimeout(time.Second)}, ""},
		{[]Opt{Ports("127.0.0.1:1", "")}, "Ports needs both"},
		{[]Opt{ReadyTimeout(0), Name("")}, "Name is empty\nReadyTimeout is not positive"},
	}
	for i, c := range cases {
		cfg := defaultConfig()
		for _, o := range c.opts {
			o(&cfg)
		}
		err := cfg.validate()
		if (err == nil) != (c.want == "") || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("case %d: validate = %v, want %q", i, err, c.want)
		}
	}
}

func TestFreeAddrs(t *testing.T) {
	addrs := FreeAddrs(t, 9)
	seen := map[string]bool{}
	for _, a := range addrs {
		if !strings.HasPrefix(a, "127.0.0.1:") || seen[a] {
			t.Fatalf("FreeAddrs = %v: want distinct 127.0.0.1 addresses", addrs)
		}
		seen[a] = true
	}
}

// TestEnvVars: a node's environment is the test's without TRIBUTARY_*
// variables, plus what EnvVars adds; the node id shows which one it read.
func TestEnvVars(t *testing.T) {
	t.Setenv("TRIBUTARY_NODE_ID", "7") // a developer's setting: not passed on
	n := bin.StartNode(t, Flags("--worker-disabled"), EnvVars("TRIBUTARY_NODE_ID=5"))
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Kafka()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	md, err := kadm.NewClient(cl).BrokerMetadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ids := md.Brokers.NodeIDs(); len(ids) != 1 || ids[0] != 5 {
		t.Fatalf("broker ids %v, want [5] (from EnvVars, not the test's environment)", ids)
	}
}
