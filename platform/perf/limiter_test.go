package perf

import (
	"context"
	"testing"
	"time"
)

// fakeClock drives a Limiter without sleeping: sleep advances the clock.
type fakeClock struct {
	now   time.Time
	slept time.Duration
}

func (f *fakeClock) install(l *Limiter) {
	l.now = func() time.Time { return f.now }
	l.sleep = func(_ context.Context, d time.Duration) error {
		f.now = f.now.Add(d)
		f.slept += d
		return nil
	}
}

func TestLimiterPacing(t *testing.T) {
	cases := []struct {
		name   string
		rate   float64
		events int
		// work is how long each event takes besides waiting.
		work time.Duration
		want time.Duration // total time of the events
	}{
		{"1000/s, no work", 1000, 1000, 0, 999 * time.Millisecond},
		{"1000/s, work under the interval", 1000, 1000, 300 * time.Microsecond, 999*time.Millisecond + 300*time.Microsecond},
		{"10/s", 10, 11, 0, time.Second},
		{"work over the interval: no sleeping", 100, 50, 20 * time.Millisecond, time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clk := &fakeClock{now: time.Unix(1000, 0)}
			l := NewLimiter(c.rate, 1)
			clk.install(l)
			start := clk.now
			for range c.events {
				at, err := l.Wait(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if !at.Equal(clk.now) {
					t.Fatalf("event released at %v, the clock says %v", at, clk.now)
				}
				clk.now = clk.now.Add(c.work)
			}
			if got := clk.now.Sub(start); got != c.want {
				t.Errorf("%d events took %v, want %v", c.events, got, c.want)
			}
		})
	}
}

func TestLimiterBurstAfterStall(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1000, 0)}
	l := NewLimiter(1000, 5) // 1ms apart, at most 5 overdue at once
	clk.install(l)
	ctx := context.Background()
	_, _ = l.Wait(ctx)
	clk.now = clk.now.Add(time.Second) // a stall: 1000 events overdue
	for i := range 5 {
		before := clk.slept
		_, _ = l.Wait(ctx)
		if clk.slept != before {
			t.Fatalf("overdue event %d waited; the burst should pass at once", i)
		}
	}
	before := clk.slept
	_, _ = l.Wait(ctx)
	if clk.slept-before != time.Millisecond {
		t.Fatalf("after the burst the limiter slept %v, want the 1ms interval", clk.slept-before)
	}
}

func TestLimiterUnlimitedAndCancel(t *testing.T) {
	l := NewLimiter(0, 1)
	for range 1000 {
		if _, err := l.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Wait(ctx); err == nil {
		t.Error("unlimited Wait on a cancelled context returned nil")
	}
	slow := NewLimiter(0.001, 1) // one event every 1000s
	_, _ = slow.Wait(context.Background())
	if _, err := slow.Wait(ctx); err == nil {
		t.Error("Wait on a cancelled context did not return its error")
	}
}
