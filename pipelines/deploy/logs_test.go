package deploy

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
)

// TestPipelineLogs: a pipeline's logger writes to the worker's log and to
// the pipeline's ring, which keeps the last MaxLogLines lines in order and
// is dropped with the pipeline.
func TestPipelineLogs(t *testing.T) {
	var base strings.Builder
	w := &Worker{specs: map[string]*Spec{Key(KindPipeline, "p"): {Kind: KindPipeline, Name: "p"}}}
	log := w.logs.logger(slog.New(slog.NewTextHandler(&base, nil)), "p").With("pipeline", "p")
	for i := range MaxLogLines + 7 {
		log.Info("line", "i", i)
	}
	log.Debug("below the ring's level")
	lines, ok := w.PipelineLogs("p")
	if !ok || len(lines) != MaxLogLines {
		t.Fatalf("%d lines (ok %v), want %d", len(lines), ok, MaxLogLines)
	}
	for j, l := range lines {
		if want := fmt.Sprintf("msg=line pipeline=p i=%d", j+7); !strings.HasSuffix(l, want) {
			t.Fatalf("line %d = %q, want ...%s", j, l, want)
		}
	}
	if n := strings.Count(base.String(), "msg=line pipeline=p"); n != MaxLogLines+7 {
		t.Errorf("the worker's log got %d lines, want every one", n)
	}
	// Another logger for p (a restart) appends to the same ring.
	w.logs.logger(slog.New(slog.DiscardHandler), "p").Warn("restarted")
	if lines, _ := w.PipelineLogs("p"); !strings.Contains(lines[len(lines)-1], "level=WARN msg=restarted") {
		t.Errorf("last line %q", lines[len(lines)-1])
	}
	if _, ok := w.PipelineLogs("q"); ok {
		t.Error("logs of a pipeline that never ran")
	}
	w.forgetDeletedLogs()
	if _, ok := w.PipelineLogs("p"); !ok {
		t.Fatal("the logs of a deployed pipeline were dropped")
	}
	delete(w.specs, Key(KindPipeline, "p"))
	w.forgetDeletedLogs()
	if _, ok := w.PipelineLogs("p"); ok {
		t.Error("the logs of a deleted pipeline stay")
	}
}

// TestTeeHandlerLevels: each side of the tee gets the records its level
// lets through, attributes and groups included.
func TestTeeHandlerLevels(t *testing.T) {
	var a, b strings.Builder
	h := teeHandler{slog.NewTextHandler(&a, &slog.HandlerOptions{Level: slog.LevelWarn}), slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug})}
	log := slog.New(h).With("k", "v").WithGroup("g")
	log.Debug("d", "x", 1)
	log.Warn("w", "x", 2)
	if !h.Enabled(context.Background(), slog.LevelDebug) {
		t.Error("the tee is not enabled for what one side wants")
	}
	got := func(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") }
	if la := got(a.String()); len(la) != 1 || !strings.HasSuffix(la[0], "msg=w k=v g.x=2") {
		t.Errorf("warn side: %q", la)
	}
	if lb := got(b.String()); len(lb) != 2 || !slices.ContainsFunc(lb, func(l string) bool { return strings.HasSuffix(l, "msg=d k=v g.x=1") }) {
		t.Errorf("debug side: %q", lb)
	}
}
