package plugins

import (
	"math"
	"math/rand/v2"
	"time"
)

// Clock is the time source of heartbeats and restart backoff, injectable so
// tests run them without real waiting.
type Clock interface {
	Now() time.Time
	// After delivers the time once d has passed.
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// After returns time.After(d). Heartbeats and backoff wait seconds, not
// microseconds, so the timers it leaves behind are few.
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Backoff gives the delay before restart attempt n, counted from 1 since the
// plugin last worked.
type Backoff interface {
	Delay(attempt int) time.Duration
}

// ExponentialBackoff doubles the delay from Initial up to Max, with up to
// Jitter (a fraction, 0 to 1) of it taken off at random so plugins that fail
// together do not restart in lockstep.
type ExponentialBackoff struct {
	Initial, Max time.Duration
	Jitter       float64
}

// Delay returns Initial·2^(attempt-1), at most Max, less the jitter.
func (b ExponentialBackoff) Delay(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := float64(b.Initial) * math.Pow(2, float64(attempt-1))
	if d > float64(b.Max) || math.IsInf(d, 1) {
		d = float64(b.Max)
	}
	if b.Jitter > 0 {
		d -= d * b.Jitter * rand.Float64()
	}
	return time.Duration(d)
}
