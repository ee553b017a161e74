package e2e

import (
	"math/rand/v2"
	"sync/atomic"
	"syscall"
	"time"
)

// killer SIGKILLs the process behind pid(): after each of a list of random
// gaps, and a few milliseconds after each trigger (so a test can aim at a
// phase, like the snapshot), until halted.
type killer struct {
	rng     *rand.Rand // used by the killer's goroutine only
	pid     func() int
	gaps    []time.Duration
	trigger chan struct{}
	stop    chan struct{}
	done    chan struct{}
	kills   atomic.Int32
	timed   atomic.Int32 // timed kills left
}

func startKiller(seed uint64, timed int, minGap, maxGap time.Duration, pid func() int) *killer {
	rng := rand.New(rand.NewPCG(seed, 5))
	k := &killer{rng: rng, pid: pid, trigger: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	for i := 0; i < timed; i++ {
		k.gaps = append(k.gaps, minGap+time.Duration(rng.Int64N(int64(maxGap-minGap))))
	}
	k.timed.Store(int32(timed))
	go k.run()
	return k
}

func (k *killer) run() {
	defer close(k.done)
	for {
		var gap <-chan time.Time
		if len(k.gaps) > 0 {
			t := time.NewTimer(k.gaps[0])
			defer t.Stop()
			gap = t.C
		}
		select {
		case <-k.stop:
			return
		case <-gap:
			k.gaps = k.gaps[1:]
			k.timed.Add(-1)
		case <-k.trigger:
			select {
			case <-k.stop:
				return
			case <-time.After(time.Duration(k.rng.IntN(30)) * time.Millisecond):
			}
		}
		if !k.kill() {
			return
		}
	}
}

// kill kills the process, waiting for one while a restart is under way;
// false when halted first.
func (k *killer) kill() bool {
	for {
		if p := k.pid(); p > 0 && syscall.Kill(p, syscall.SIGKILL) == nil {
			k.kills.Add(1)
			return true
		}
		select {
		case <-k.stop:
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// aim asks for a kill in a few milliseconds (dropped if one is pending).
func (k *killer) aim() {
	select {
	case k.trigger <- struct{}{}:
	default:
	}
}

// finished reports whether every timed kill was done.
func (k *killer) finished() bool { return k.timed.Load() == 0 }

// halt stops the killer and returns the number of kills.
func (k *killer) halt() int {
	select {
	case <-k.stop:
	default:
		close(k.stop)
	}
	<-k.done
	return int(k.kills.Load())
}
