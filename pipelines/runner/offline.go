package runner

import (
	"log/slog"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/pipelines/process"
	"github.com/tributary-io/tributary/pipelines/spec"
)

// Offline runs a pipeline's processors on records without a broker, exactly
// as one consumer of a Runner processes a batch, and returns what it would
// produce — output records and dead letters — in order. When a record fails
// and onError is stop, it returns what came before and an error wrapping
// ErrStopped. Records for a connector output have the output's name as
// their topic. `tributary pipeline test` is built on it.
func Offline(name string, p *spec.Pipeline, prog *process.Program, recs []*kgo.Record, opts ...process.Option) ([]*kgo.Record, Stats, error) {
	r := &Runner{cfg: Config{Name: name, Spec: p, Program: prog, Logger: slog.New(slog.DiscardHandler)}}
	w := r.newWorker(0)
	w.chain = prog.NewChain(opts...)
	var out []*kgo.Record
	counts, err := w.processBatch(recs, func(rec *kgo.Record) { out = append(out, rec) })
	r.stats.commit(counts, 0)
	return out, r.Stats(), err
}
