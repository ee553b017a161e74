package runner

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/pipelines/process"
	"github.com/tributary-io/tributary/pipelines/spec"
	"github.com/tributary-io/tributary/pipelines/stateful"
)

// Offline runs a pipeline's processors on records without a broker, exactly
// as one consumer of a Runner processes a batch, and returns what it would
// produce — output records and dead letters — in order. When a record fails
// and onError is stop, it returns what came before and an error wrapping
// ErrStopped. Records for a connector output have the output's name as
// their topic. `tributary pipeline test` is built on it.
//
// A pipeline with stateful steps runs on the streams test driver instead,
// with the records in order as the only input (prog and opts are not used):
// its outputs are the stateful steps' emissions, and a join's table is fed
// by the records whose topic is the table's.
func Offline(name string, p *spec.Pipeline, prog *process.Program, recs []*kgo.Record, opts ...process.Option) ([]*kgo.Record, Stats, error) {
	if p.Stateful() {
		return offlineStateful(name, p, recs)
	}
	r := &Runner{cfg: Config{Name: name, Spec: p, Program: prog, Logger: slog.New(slog.DiscardHandler)}}
	w := r.newWorker(0)
	w.chain = prog.NewChain(opts...)
	var out []*kgo.Record
	counts, err := w.processBatch(recs, func(rec *kgo.Record) { out = append(out, rec) })
	r.stats.commit(counts, 0)
	return out, r.Stats(), err
}

func offlineStateful(name string, p *spec.Pipeline, recs []*kgo.Record) ([]*kgo.Record, Stats, error) {
	cfg := Config{Name: name, Spec: p}
	sr, err := compilePlan(&cfg)
	if err != nil {
		return nil, Stats{}, err
	}
	out, err := sr.plan.Offline(recs, &sr.counters)
	if errors.Is(err, stateful.ErrRecord) {
		err = fmt.Errorf("%w: %w", ErrStopped, err)
	}
	r := &Runner{cfg: cfg, stateful: sr}
	return out, r.Stats(), err
}
