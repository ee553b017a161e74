package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Values of --progress: a bar on stderr when it is a terminal (auto), also
// when it is not (always, as a line per update), or never.
const (
	progressAuto   = "auto"
	progressAlways = "always"
	progressNever  = "never"
)

// addProgressFlag registers --progress on fs.
func addProgressFlag(fs *flag.FlagSet) *string {
	return fs.String("progress", progressAuto,
		"progress on stderr: auto (a bar when stderr is a terminal), always (lines when it is not) or never")
}

// checkProgress reports an unknown --progress value as a usage error.
func checkProgress(mode string) error {
	switch mode {
	case progressAuto, progressAlways, progressNever:
		return nil
	}
	return usageErrorf("--progress %q: want auto, always or never", mode)
}

// Redraw limits: a terminal bar at most every barEvery, a line on a
// non-terminal at most every lineEvery (the first and the last update are
// always shown).
const (
	barEvery  = 100 * time.Millisecond
	lineEvery = time.Second
	barWidth  = 30
)

// progress reports how far a long operation got, on stderr only, so the
// result on stdout (a table, JSON or YAML) stays exactly what it would be
// without it. On a terminal it redraws one line in place:
//
//	apply [===========>                  ] 3/8  37%  pipeline/orders
//
// elsewhere (when asked with --progress always) it prints that line without
// the bar, at most once a second. A nil *progress reports nothing, so
// callers need no checks. Its methods may be called from any goroutine.
type progress struct {
	w     io.Writer
	tty   bool
	every time.Duration
	label string
	unit  string
	now   func() time.Time

	mu       sync.Mutex
	total    int64 // 0: unknown, the bar shows the count only
	done     int64
	note     string
	shown    time.Time // last draw; zero before the first
	onScreen bool      // a bar is drawn on the terminal's last line
	dirty    bool      // changed since the last draw
	finished bool
}

// newProgress returns a reporter for an operation of total steps (0:
// unknown) named label, or nil when mode and stderr say to report nothing.
func newProgress(c *cli, mode, label string, total int64) *progress {
	tty := isTerminal(c.stderr)
	if mode == progressNever || (mode == progressAuto && !tty) {
		return nil
	}
	every := lineEvery
	if tty {
		every = barEvery
	}
	return &progress{w: c.stderr, tty: tty, every: every, label: label, total: total, now: time.Now}
}

// isTerminal reports whether w is a character device (a terminal), as
// os.File tells through Stat; anything else, such as a pipe, a file or a
// test's buffer, is not.
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Stat() (os.FileInfo, error) })
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// SetTotal changes the number of steps, once it is known.
func (p *progress) SetTotal(total int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.total = total
	p.mu.Unlock()
}

// Set records that done steps are complete and what is happening now.
func (p *progress) Set(done int64, note string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done, p.note, p.dirty = done, note, true
	p.drawLocked(false)
}

// Step records one more step complete, with note saying what it was or
// what comes next.
func (p *progress) Step(note string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	p.note, p.dirty = note, true
	p.drawLocked(false)
}

// Finish draws the final state and ends the bar's line; later updates are
// ignored. Call it once the operation ended, successfully or not.
func (p *progress) Finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	if p.dirty || p.shown.IsZero() || (p.tty && !p.onScreen) {
		p.drawLocked(true)
	}
	if p.tty {
		_, _ = io.WriteString(p.w, "\n")
	}
	p.onScreen = false
	p.finished = true
}

// Stdout wraps w (the command's stdout) so that on a terminal a write first
// erases the bar and then draws it again below what was written; stdout
// and stderr share the screen there. Off a terminal it returns w itself.
func (p *progress) Stdout(w io.Writer) io.Writer {
	if p == nil || !p.tty {
		return w
	}
	return progressStdout{p: p, w: w}
}

type progressStdout struct {
	p *progress
	w io.Writer
}

func (s progressStdout) Write(b []byte) (int, error) {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	if s.p.onScreen {
		_, _ = io.WriteString(s.p.w, "\r\033[K")
		s.p.onScreen = false
	}
	n, err := s.w.Write(b)
	if !s.p.finished && bytesEndLine(b) {
		s.p.drawLocked(true)
	}
	return n, err
}

func bytesEndLine(b []byte) bool { return len(b) > 0 && b[len(b)-1] == '\n' }

// drawLocked writes the current state unless the last draw was too recent
// (force draws anyway). p.mu is held.
func (p *progress) drawLocked(force bool) {
	if p.finished {
		return
	}
	now := p.now()
	if !force && !p.shown.IsZero() && now.Sub(p.shown) < p.every {
		return
	}
	p.shown, p.dirty = now, false
	line := p.text()
	if p.tty {
		_, _ = io.WriteString(p.w, "\r\033[K"+line)
		p.onScreen = true
		return
	}
	_, _ = io.WriteString(p.w, line+"\n")
}

// text is the progress line: the label, on a terminal a bar, the count
// against the total and the percentage when the total is known, and the note.
func (p *progress) text() string {
	var b strings.Builder
	b.WriteString(p.label)
	if p.total > 0 {
		done := min(max(p.done, 0), p.total)
		if p.tty {
			fill := int(done * barWidth / p.total)
			b.WriteString(" [")
			b.WriteString(strings.Repeat("=", fill))
			if fill < barWidth {
				b.WriteString(">")
				b.WriteString(strings.Repeat(" ", barWidth-fill-1))
			}
			b.WriteString("]")
		}
		fmt.Fprintf(&b, " %d/%d%s %3d%%", p.done, p.total, p.unit, done*100/p.total)
	} else {
		fmt.Fprintf(&b, " %d%s", p.done, p.unit)
	}
	if p.note != "" {
		b.WriteString("  ")
		b.WriteString(p.note)
	}
	return b.String()
}
