package plugins

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tributary-io/tributary/plugins/pluginpb"
	"github.com/tributary-io/tributary/sdk"
)

// ErrPluginFailed wraps every error after which an instance's plugin was
// torn down: the process crashed, stopped answering heartbeats, or a call
// failed. For a source, records read since the last Commit are void (the
// restarted plugin reads them again from the committed position); for a
// sink, records written since the last successful Flush are void and must
// be written again. The next call restarts the plugin after the backoff.
var ErrPluginFailed = errors.New("plugins: plugin failed")

// ErrClosed is returned by calls on a closed or never opened instance.
var ErrClosed = errors.New("plugins: instance is not open")

// supervisor runs the process of one instance and restarts it after
// failures with backoff. It belongs to its Source or Sink and is used under
// that instance's lock.
type supervisor struct {
	cfg  *Config
	m    Manifest
	log  *slog.Logger
	proc *process
	inst uint64
	// attempts counts failures since the plugin last worked for StableAfter;
	// retryAt is the earliest time of the next start.
	attempts int
	retryAt  time.Time
	restarts int
}

// openFunc opens an instance on a freshly started process.
type openFunc func(ctx context.Context, p *process) (uint64, error)

// ensure returns with a running process and an open instance, starting them
// after the backoff when needed. While the backoff lasts past ctx it returns
// ctx's error, meaning "not yet".
func (s *supervisor) ensure(ctx context.Context, open openFunc) error {
	if s.proc != nil {
		return nil
	}
	if wait := s.retryAt.Sub(s.cfg.Clock.Now()); wait > 0 {
		select {
		case <-s.cfg.Clock.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	p, err := startProcess(s.cfg, s.m.Path)
	if err != nil {
		return s.failed(err)
	}
	octx, release := startCtx(ctx)
	inst, err := open(octx, p)
	release()
	if err != nil {
		p.stop()
		if sdk.Problems(err) != nil {
			// A configuration the plugin rejects stays rejected: no retry.
			return err
		}
		return s.failed(p.why(err))
	}
	if s.attempts > 0 {
		s.restarts++
		s.log.Info("plugin restarted", "attempt", s.attempts, "pid", p.pid())
	}
	s.proc, s.inst = p, inst
	return nil
}

// startCtx is the context a restart opens its instance on: ctx's values and
// cancellation (a stopping task ends the restart), but not its deadline. A
// Read waits for data only briefly; an Open cut short by that deadline would
// count as another failure, and on a loaded machine where starting a plugin
// takes longer than any caller waits, the plugin would never come back.
// The Open is bounded by CallTimeout instead. release frees the context.
func startCtx(ctx context.Context) (octx context.Context, release func()) {
	octx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			cancel(ctx.Err())
		}
	})
	return octx, func() {
		stop()
		cancel(nil)
	}
}

// failed schedules the next start after the backoff and wraps err.
func (s *supervisor) failed(err error) error {
	s.attempts++
	d := s.cfg.Backoff.Delay(s.attempts)
	s.retryAt = s.cfg.Clock.Now().Add(d)
	s.log.Warn("plugin failed; restarting after backoff", "attempt", s.attempts, "backoff", d, "error", err)
	if s.cfg.OnFailure != nil && !canceled(err) {
		s.cfg.OnFailure(s.m.Name)
	}
	return fmt.Errorf("%w: %w", ErrPluginFailed, err)
}

// fail tears the instance's process down after a failed call.
func (s *supervisor) fail(callErr error) error {
	err := callErr
	if s.proc != nil {
		err = s.proc.why(callErr)
		s.proc.stop()
		s.proc, s.inst = nil, 0
	}
	return s.failed(err)
}

// worked notes a successful call: a plugin that has run for StableAfter
// starts its backoff from the first attempt again.
func (s *supervisor) worked() {
	if s.attempts > 0 && s.cfg.Clock.Now().Sub(s.proc.started) >= s.cfg.StableAfter {
		s.attempts = 0
	}
}

// close closes the instance and stops the process.
func (s *supervisor) close(closeCall func(ctx context.Context, p *process, inst uint64) error) error {
	if s.proc == nil {
		return nil
	}
	var err error
	if s.proc.alive() {
		ctx, cancel := s.proc.callCtx(context.Background())
		err = closeCall(ctx, s.proc, s.inst)
		cancel()
	}
	s.proc.stop()
	s.proc, s.inst = nil, 0
	if err != nil {
		return fmt.Errorf("close %s instance: %w", s.m.Name, err)
	}
	return nil
}

// pid is the running plugin's process id, 0 when none runs.
func (s *supervisor) pid() int {
	if s.proc == nil {
		return 0
	}
	return s.proc.pid()
}

// openResult turns an Open response into an instance id or a validation error.
func openResult(resp *pluginpb.OpenResponse, err error) (uint64, error) {
	if err != nil {
		return 0, err
	}
	if len(resp.Problems) > 0 {
		return 0, &sdk.ValidationError{Problems: sdk.ProblemsFromProto(resp.Problems)}
	}
	return resp.Instance, nil
}

// canceled reports a call that failed because its caller gave up (a task
// stopping, paused or deleted), which says nothing about the plugin's
// health: metrics do not count it as a failure.
func canceled(err error) bool {
	if errors.Is(err, context.Canceled) {
		return true
	}
	st, ok := status.FromError(err)
	return ok && st.Code() == codes.Canceled
}
