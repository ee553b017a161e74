package main

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"
)

// ttyBuffer is a buffer that says it is a terminal, as an *os.File on a
// character device does.
type ttyBuffer struct{ bytes.Buffer }

func (b *ttyBuffer) Stat() (os.FileInfo, error) { return charDevice{}, nil }

type charDevice struct{}

func (charDevice) Name() string       { return "tty" }
func (charDevice) Size() int64        { return 0 }
func (charDevice) Mode() fs.FileMode  { return fs.ModeDevice | fs.ModeCharDevice | 0o620 }
func (charDevice) ModTime() time.Time { return time.Time{} }
func (charDevice) IsDir() bool        { return false }
func (charDevice) Sys() any           { return nil }

// fakeClock is a progress clock the test moves.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestNewProgressMode(t *testing.T) {
	for _, tc := range []struct {
		mode    string
		tty     bool
		want    bool // a reporter is returned
		wantTTY bool
	}{
		{progressAuto, false, false, false},
		{progressAuto, true, true, true},
		{progressAlways, false, true, false},
		{progressAlways, true, true, true},
		{progressNever, false, false, false},
		{progressNever, true, false, false},
	} {
		var w io.Writer = &bytes.Buffer{}
		if tc.tty {
			w = &ttyBuffer{}
		}
		p := newProgress(&cli{stderr: w}, tc.mode, "op", 3)
		if (p != nil) != tc.want || (p != nil && p.tty != tc.wantTTY) {
			t.Errorf("mode %s, terminal %v: reporter %v (tty %v), want %v (tty %v)", tc.mode, tc.tty, p != nil, p != nil && p.tty, tc.want, tc.wantTTY)
		}
	}
	for _, mode := range []string{progressAuto, progressAlways, progressNever} {
		if err := checkProgress(mode); err != nil {
			t.Errorf("checkProgress(%q) = %v", mode, err)
		}
	}
	if err := checkProgress("yes"); err == nil || !strings.Contains(err.Error(), "auto, always or never") {
		t.Errorf("checkProgress(yes) = %v, want a usage error naming the values", err)
	}
	// A real pipe is not a terminal.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if isTerminal(w) {
		t.Error("isTerminal(pipe) = true")
	}
}

// TestProgressLines: off a terminal, a line per update at most once per
// interval, the first and the last always, no control characters.
func TestProgressLines(t *testing.T) {
	var out bytes.Buffer
	clk := &fakeClock{t: time.Unix(1000, 0)}
	p := newProgress(&cli{stderr: &out}, progressAlways, "apply", 4)
	p.now = clk.now
	p.Step("topic/a")        // first: shown
	p.Step("topic/b")        // within the interval: not shown
	clk.advance(time.Second) // interval passed
	p.Step("connector/c")    // shown
	p.Step("pipeline/d")     // not shown yet
	p.Finish()               // the last state: shown
	p.Step("late")           // after Finish: ignored
	p.Finish()
	want := "apply 1/4  25%  topic/a\n" +
		"apply 3/4  75%  connector/c\n" +
		"apply 4/4 100%  pipeline/d\n"
	if got := out.String(); got != want {
		t.Errorf("lines:\n%q\nwant\n%q", got, want)
	}
	if strings.ContainsAny(out.String(), "\r\033") {
		t.Errorf("control characters off a terminal: %q", out.String())
	}

	// Nothing changed since the last line: Finish prints nothing more.
	out.Reset()
	q := newProgress(&cli{stderr: &out}, progressAlways, "reset", 0)
	q.now = clk.now
	q.unit = " tables"
	q.Set(2, "")
	q.Finish()
	if got, want := out.String(), "reset 2 tables\n"; got != want {
		t.Errorf("unknown total: %q, want %q", got, want)
	}
}

// TestProgressBar: on a terminal, one line redrawn in place with a bar;
// stdout written through Stdout erases the bar first and redraws it after,
// and Finish ends the line.
func TestProgressBar(t *testing.T) {
	var errOut ttyBuffer
	var stdout bytes.Buffer
	clk := &fakeClock{t: time.Unix(1000, 0)}
	p := newProgress(&cli{stderr: &errOut}, progressAuto, "apply", 2)
	p.now = clk.now
	w := p.Stdout(&stdout)
	p.Set(0, "topics")
	if got, want := errOut.String(), "\r\033[Kapply [>                             ] 0/2   0%  topics"; got != want {
		t.Fatalf("first draw %q, want %q", got, want)
	}
	errOut.Reset()
	clk.advance(barEvery)
	p.Step("topic/a")
	if got := errOut.String(); !strings.HasPrefix(got, "\r\033[Kapply [===============>") || !strings.HasSuffix(got, "1/2  50%  topic/a") {
		t.Errorf("half-way draw %q", got)
	}
	errOut.Reset()
	if _, err := io.WriteString(w, "+ topic/a created\n"); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "+ topic/a created\n" {
		t.Errorf("stdout %q: the bar must not reach stdout", stdout.String())
	}
	if got := errOut.String(); !strings.HasPrefix(got, "\r\033[K\r\033[Kapply [") {
		t.Errorf("around a stdout line stderr got %q: want the bar erased, then drawn again", got)
	}
	errOut.Reset()
	p.Step("topic/b") // within barEvery of the redraw: held back
	if errOut.Len() != 0 {
		t.Errorf("redrawn within %s: %q", barEvery, errOut.String())
	}
	p.Finish()
	if got, want := errOut.String(), "\r\033[Kapply [==============================] 2/2 100%  topic/b\n"; got != want {
		t.Errorf("final draw %q, want %q", got, want)
	}
	// Once finished, stdout passes straight through.
	errOut.Reset()
	_, _ = io.WriteString(w, "done\n")
	if errOut.Len() != 0 {
		t.Errorf("stderr after Finish: %q", errOut.String())
	}
}

// TestProgressNil: a nil reporter (nothing to show) takes every call.
func TestProgressNil(t *testing.T) {
	var p *progress
	p.SetTotal(3)
	p.Set(1, "x")
	p.Step("y")
	p.Finish()
	var b bytes.Buffer
	if p.Stdout(&b) != io.Writer(&b) {
		t.Error("nil reporter's Stdout is not the writer itself")
	}
}

// TestDecodeSnapshot reads snapshot progress out of a change-capture
// source's position.
func TestDecodeSnapshot(t *testing.T) {
	for _, tc := range []struct {
		name string
		pos  string // "" for none
		want snapshotState
		err  string
	}{
		{"no position", "", snapshotState{}, ""},
		{"in the second table", `{"v":1,"r":5,"s":{"t":[["public","a"],["public","b"],["s","c"]],"a":[{"l":5}],"i":1,"k":["7"]}}`,
			snapshotState{Started: true, Tables: 3, TablesRead: 1, Table: "public.b"}, ""},
		{"done, stream still in range", `{"v":1,"r":9,"s":{"t":[["public","a"]],"a":[{"l":5}],"i":0,"d":true}}`,
			snapshotState{Started: true, Tables: 1, TablesRead: 1, Done: true}, ""},
		{"snapshot over", `{"v":1,"r":90}`, snapshotState{Started: true, Done: true}, ""},
		{"not a change-capture position", `not json`, snapshotState{}, "only sources that report snapshot progress"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var pos []byte
			if tc.pos != "" {
				pos = []byte(tc.pos)
			}
			got, err := decodeSnapshot("pg", 0, pos)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one mentioning %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.want.Connector = "pg"
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
