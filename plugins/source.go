package plugins

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tributary-io/tributary/plugins/pluginpb"
	"github.com/tributary-io/tributary/sdk"
)

// Source is a plugin's source run in its own supervised process. It
// implements sdk.Source and sdk.Committer, so the runtime drives it like
// in-process code; see ErrPluginFailed for what a failure means.
type Source struct {
	mu        sync.Mutex
	sup       supervisor
	sizer     *batchSizer
	cfg       sdk.Config
	open      bool
	committed sdk.Position
}

var (
	_ sdk.Source    = (*Source)(nil)
	_ sdk.Committer = (*Source)(nil)
)

// NewSource returns an unopened source of the plugin called name.
func (r *Registry) NewSource(name string) (*Source, error) {
	m, err := r.lookup(name, sdk.KindSource)
	if err != nil {
		return nil, err
	}
	return &Source{
		sup:   supervisor{cfg: &r.cfg, m: m, log: r.cfg.Logger.With("plugin", name, "kind", "source")},
		sizer: newBatchSizer(r.cfg.MinBatch, r.cfg.MaxBatch, r.cfg.BatchLatency),
	}, nil
}

// Open starts the plugin and opens the source at pos (nil: the configured
// start). An invalid configuration fails with a *sdk.ValidationError and
// leaves the source unopened. Any other failure leaves it open: the error
// wraps ErrPluginFailed and the next Read tries again after the backoff.
func (s *Source) Open(ctx context.Context, cfg sdk.Config, pos sdk.Position) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open {
		return fmt.Errorf("open %s source: already open", s.sup.m.Name)
	}
	s.cfg, s.committed = cfg, bytes.Clone(pos)
	err := s.sup.ensure(ctx, s.openOn)
	if sdk.Problems(err) != nil {
		return fmt.Errorf("open %s source: %w", s.sup.m.Name, err)
	}
	s.open = true
	return err
}

// openOn opens an instance on p at the last committed position.
func (s *Source) openOn(ctx context.Context, p *process) (uint64, error) {
	cctx, cancel := p.callCtx(ctx)
	defer cancel()
	return openResult(p.source.Open(cctx, &pluginpb.SourceOpenRequest{Config: s.cfg.Raw(), Position: s.committed}))
}

// Read returns up to max records (fewer when the adapted batch size is
// smaller). It waits for the first record until ctx's deadline or MaxWait,
// whichever is sooner.
func (s *Source) Read(ctx context.Context, max int) ([]sdk.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.open {
		return nil, ErrClosed
	}
	if err := s.sup.ensure(ctx, s.openOn); err != nil {
		return nil, err
	}
	n := min(max, s.sizer.size())
	wait := s.sup.cfg.MaxWait
	if dl, ok := ctx.Deadline(); ok {
		// Leave the answer time to travel back before the caller gives up.
		wait = min(wait, max0(time.Until(dl)-10*time.Millisecond))
	}
	start := time.Now()
	resp, err := s.sup.proc.source.Read(ctx, &pluginpb.ReadRequest{
		Instance:   s.sup.inst,
		MaxRecords: uint32(n),
		MaxBytes:   uint64(s.sup.cfg.MaxMessageBytes),
		MaxWaitMs:  uint32(wait / time.Millisecond),
	})
	if err != nil {
		if ctx.Err() != nil && s.sup.proc.alive() {
			// The caller gave up; the plugin keeps what it read for next time.
			return nil, ctx.Err()
		}
		return nil, s.sup.fail(fmt.Errorf("read: %w", err))
	}
	s.sizer.observe(len(resp.Records) >= n, time.Since(start))
	s.sup.worked()
	return sdk.RecordsFromProto(resp.Records), nil
}

func max0(d time.Duration) time.Duration {
	if d < 0 {
		return 0
	}
	return d
}

// Commit records the newest position as committed, so a restarted plugin
// resumes after it, and tells the plugin. The plugin's answer is advisory:
// a failure to tell it is logged, not returned.
func (s *Source) Commit(ctx context.Context, positions []sdk.Position) error {
	if len(positions) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.open {
		return ErrClosed
	}
	s.committed = bytes.Clone(positions[len(positions)-1])
	if s.sup.proc == nil || !s.sup.proc.alive() {
		return nil
	}
	wire := make([][]byte, len(positions))
	for i, p := range positions {
		wire[i] = p
	}
	cctx, cancel := s.sup.proc.callCtx(ctx)
	defer cancel()
	if _, err := s.sup.proc.source.Commit(cctx, &pluginpb.CommitRequest{Instance: s.sup.inst, Positions: wire}); err != nil {
		s.sup.log.Warn("plugin did not take a commit", "error", err)
	}
	return nil
}

// Committed returns the position a restart resumes from.
func (s *Source) Committed() sdk.Position {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.committed)
}

// Close closes the instance and stops its process.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.open = false
	return s.sup.close(func(ctx context.Context, p *process, inst uint64) error {
		_, err := p.source.Close(ctx, &pluginpb.CloseRequest{Instance: inst})
		return err
	})
}

// Stats describes the instance for status pages and tests.
type Stats struct {
	// PID is the plugin's process id, 0 while none runs.
	PID int
	// Restarts counts successful restarts after failures.
	Restarts int
	// BatchSize is the current adapted number of records per call.
	BatchSize int
}

// Stats returns the instance's current figures.
func (s *Source) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{PID: s.sup.pid(), Restarts: s.sup.restarts, BatchSize: s.sizer.size()}
}
