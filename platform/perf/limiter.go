package perf

import (
	"context"
	"time"
)

// Limiter paces work to a target rate of events per second. It keeps a
// schedule (event i is due at start + i/rate) instead of sleeping a fixed gap
// after each event, so oversleeping is made up for and the long-run rate is
// exact. Bursts after a stall are capped at burst events, so a pause does not
// turn into an unbounded catch-up flood. One goroutine uses a Limiter.
type Limiter struct {
	interval time.Duration // time between two events; 0: unlimited
	burst    int64
	next     time.Time // when the next event is due
	now      func() time.Time
	sleep    func(ctx context.Context, d time.Duration) error
}

// NewLimiter returns a limiter for rate events per second (rate <= 0:
// unlimited) that lets at most burst overdue events through at once.
func NewLimiter(rate float64, burst int) *Limiter {
	l := &Limiter{burst: int64(max(burst, 1)), now: time.Now, sleep: sleepCtx}
	if rate > 0 {
		l.interval = time.Duration(float64(time.Second) / rate)
		l.interval = max(l.interval, 1)
	}
	return l
}

// Wait blocks until the next event is due or ctx is done, and returns the
// time the event is released at: the clock reading it took, or the due time
// when it slept until then. Callers stamp events with it instead of reading
// the clock again (a clock read is not free at a million events a second).
// An unlimited limiter reads no clock and returns the zero time.
func (l *Limiter) Wait(ctx context.Context) (time.Time, error) {
	if l.interval == 0 {
		return time.Time{}, ctx.Err()
	}
	now := l.now()
	if l.next.IsZero() {
		l.next = now
	}
	if earliest := now.Add(-time.Duration(l.burst-1) * l.interval); l.next.Before(earliest) {
		l.next = earliest
	}
	due := l.next
	l.next = l.next.Add(l.interval)
	if d := due.Sub(now); d > 0 {
		return due, l.sleep(ctx, d)
	}
	return now, ctx.Err()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
