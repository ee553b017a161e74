package plugins

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tributary-io/tributary/plugins/pluginpb"
	"github.com/tributary-io/tributary/sdk"
)

// Sink is a plugin's sink run in its own supervised process. It implements
// sdk.Sink; see ErrPluginFailed for what a failure means.
type Sink struct {
	mu    sync.Mutex
	sup   supervisor
	sizer *batchSizer
	cfg   sdk.Config
	open  bool
}

var _ sdk.Sink = (*Sink)(nil)

// NewSink returns an unopened sink of the plugin called name.
func (r *Registry) NewSink(name string) (*Sink, error) {
	m, err := r.lookup(name, sdk.KindSink)
	if err != nil {
		return nil, err
	}
	return &Sink{
		sup:   supervisor{cfg: &r.cfg, m: m, log: r.cfg.Logger.With("plugin", name, "kind", "sink")},
		sizer: newBatchSizer(r.cfg.MinBatch, r.cfg.MaxBatch, r.cfg.BatchLatency),
	}, nil
}

// Open starts the plugin and opens the sink; failures are as for Source.Open.
func (k *Sink) Open(ctx context.Context, cfg sdk.Config) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.open {
		return fmt.Errorf("open %s sink: already open", k.sup.m.Name)
	}
	k.cfg = cfg
	err := k.sup.ensure(ctx, k.openOn)
	if sdk.Problems(err) != nil {
		return fmt.Errorf("open %s sink: %w", k.sup.m.Name, err)
	}
	k.open = true
	return err
}

func (k *Sink) openOn(ctx context.Context, p *process) (uint64, error) {
	cctx, cancel := p.callCtx(ctx)
	defer cancel()
	return openResult(p.sink.Open(cctx, &pluginpb.SinkOpenRequest{Config: k.cfg.Raw()}))
}

// Write sends records in batches of the adapted size, each under the
// message limit. On an error wrapping ErrPluginFailed, every record written
// since the last successful Flush must be written again.
func (k *Sink) Write(ctx context.Context, records []sdk.Record) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.open {
		return ErrClosed
	}
	if err := k.sup.ensure(ctx, k.openOn); err != nil {
		return err
	}
	for len(records) > 0 {
		n, size := 0, 0
		for n < len(records) && n < k.sizer.size() {
			rs := records[n].Size()
			if n > 0 && size+rs > k.sup.cfg.MaxMessageBytes {
				break
			}
			size += rs
			n++
		}
		start := time.Now()
		cctx, cancel := k.sup.proc.callCtx(ctx)
		_, err := k.sup.proc.sink.Write(cctx, &pluginpb.WriteRequest{Instance: k.sup.inst, Records: sdk.RecordsToProto(records[:n])})
		cancel()
		if err != nil {
			return k.sup.fail(fmt.Errorf("write: %w", err))
		}
		k.sizer.observe(n == k.sizer.size(), time.Since(start))
		records = records[n:]
	}
	k.sup.worked()
	return nil
}

// Flush makes everything written so far durable in the plugin.
func (k *Sink) Flush(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.open {
		return ErrClosed
	}
	if err := k.sup.ensure(ctx, k.openOn); err != nil {
		return err
	}
	cctx, cancel := k.sup.proc.callCtx(ctx)
	defer cancel()
	if _, err := k.sup.proc.sink.Flush(cctx, &pluginpb.FlushRequest{Instance: k.sup.inst}); err != nil {
		return k.sup.fail(fmt.Errorf("flush: %w", err))
	}
	return nil
}

// Close closes the instance without flushing and stops its process.
func (k *Sink) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.open = false
	return k.sup.close(func(ctx context.Context, p *process, inst uint64) error {
		_, err := p.sink.Close(ctx, &pluginpb.CloseRequest{Instance: inst})
		return err
	})
}

// Stats returns the instance's current figures.
func (k *Sink) Stats() Stats {
	k.mu.Lock()
	defer k.mu.Unlock()
	return Stats{PID: k.sup.pid(), Restarts: k.sup.restarts, BatchSize: k.sizer.size()}
}
