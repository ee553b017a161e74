package deploy

import (
	"context"
	"log/slog"
	"strings"
	"sync"
)

// MaxLogLines is how many of a pipeline's last log lines a worker keeps.
const MaxLogLines = 500

// logRing keeps the last MaxLogLines lines a pipeline logged on this
// worker. It is an io.Writer for a slog.TextHandler, which writes each
// record in one call.
type logRing struct {
	mu    sync.Mutex
	lines []string
	next  int // where the next line goes once lines is full
}

func (r *logRing) Write(p []byte) (int, error) {
	line := strings.TrimRight(string(p), "\n")
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.lines) < MaxLogLines {
		r.lines = append(r.lines, line)
	} else {
		r.lines[r.next] = line
		r.next = (r.next + 1) % MaxLogLines
	}
	return len(p), nil
}

// snapshot returns the lines, oldest first.
func (r *logRing) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.lines))
	out = append(out, r.lines[r.next:]...)
	return append(out, r.lines[:r.next]...)
}

// teeHandler sends every record to two handlers: the worker's log and a
// pipeline's ring.
type teeHandler struct{ a, b slog.Handler }

func (t teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return t.a.Enabled(ctx, l) || t.b.Enabled(ctx, l)
}

func (t teeHandler) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if t.a.Enabled(ctx, r.Level) {
		err = t.a.Handle(ctx, r.Clone())
	}
	if t.b.Enabled(ctx, r.Level) {
		if e := t.b.Handle(ctx, r); err == nil {
			err = e
		}
	}
	return err
}

func (t teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return teeHandler{t.a.WithAttrs(as), t.b.WithAttrs(as)}
}

func (t teeHandler) WithGroup(name string) slog.Handler {
	return teeHandler{t.a.WithGroup(name), t.b.WithGroup(name)}
}

// pipelineLogs holds the rings of the pipelines that ran on this worker
// since their spec was last written, by name.
type pipelineLogs struct {
	mu sync.Mutex
	by map[string]*logRing
}

// logger returns a logger writing to base and to the ring of the pipeline
// called name (kept across restarts of the pipeline on this worker). It
// adds no attribute: the runner adds the pipeline's name itself.
func (p *pipelineLogs) logger(base *slog.Logger, name string) *slog.Logger {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.by == nil {
		p.by = map[string]*logRing{}
	}
	r := p.by[name]
	if r == nil {
		r = &logRing{}
		p.by[name] = r
	}
	ring := slog.NewTextHandler(r, &slog.HandlerOptions{Level: slog.LevelInfo})
	return slog.New(teeHandler{base.Handler(), ring})
}

func (p *pipelineLogs) forget(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.by, name)
}

// PipelineLogs returns the last lines (at most MaxLogLines, oldest first)
// the pipeline called name logged on this worker: its starts and stops,
// failures and restarts, failed records and aborted transactions. ok is
// false when it has not run here.
func (w *Worker) PipelineLogs(name string) (lines []string, ok bool) {
	w.logs.mu.Lock()
	r := w.logs.by[name]
	w.logs.mu.Unlock()
	if r == nil {
		return nil, false
	}
	return r.snapshot(), true
}

// WorkerURL returns the REST address the live worker id announced.
func (w *Worker) WorkerURL(id string) (string, bool) {
	ms, _ := w.bal.members()
	for _, m := range ms {
		if m.ID == id && m.URL != "" {
			return m.URL, true
		}
	}
	return "", false
}

// forgetDeletedLogs drops the rings of pipelines no longer deployed.
// Called by the reconcile loop.
func (w *Worker) forgetDeletedLogs() {
	w.logs.mu.Lock()
	names := make([]string, 0, len(w.logs.by))
	for name := range w.logs.by {
		names = append(names, name)
	}
	w.logs.mu.Unlock()
	for _, name := range names {
		if !w.specExists(Key(KindPipeline, name)) {
			w.logs.forget(name)
		}
	}
}

// specExists reports whether the spec with key is deployed.
func (w *Worker) specExists(key string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.specs[key]
	return ok
}
