package console

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// lagSample is a group's total lag at one time.
type lagSample struct {
	At  time.Time
	Lag int64
}

// lagHistory keeps the last n total-lag samples of each group in a ring.
// Groups that disappear are forgotten at the next sample, so the memory
// is bounded by the live groups times n.
type lagHistory struct {
	n     int
	mu    sync.Mutex
	rings map[string]*ring
}

type ring struct {
	buf  []lagSample
	next int
	full bool
}

func newLagHistory(n int) *lagHistory { return &lagHistory{n: n, rings: map[string]*ring{}} }

// record adds one sample per group in lags and drops groups not in it.
func (h *lagHistory) record(at time.Time, lags map[string]int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for g := range h.rings {
		if _, ok := lags[g]; !ok {
			delete(h.rings, g)
		}
	}
	for g, lag := range lags {
		r := h.rings[g]
		if r == nil {
			r = &ring{buf: make([]lagSample, h.n)}
			h.rings[g] = r
		}
		r.buf[r.next] = lagSample{At: at, Lag: lag}
		r.next = (r.next + 1) % h.n
		r.full = r.full || r.next == 0
	}
}

// samples returns a group's samples, oldest first.
func (h *lagHistory) samples(group string) []lagSample {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.rings[group]
	if r == nil {
		return nil
	}
	if !r.full {
		return append([]lagSample(nil), r.buf[:r.next]...)
	}
	return append(append([]lagSample(nil), r.buf[r.next:]...), r.buf[:r.next]...)
}

// rateTracker turns the workers' record counters into records per second
// between the last two samples.
type rateTracker struct {
	mu    sync.Mutex
	at    time.Time
	count map[string]float64
	rate  map[string]float64
}

func newRateTracker() *rateTracker {
	return &rateTracker{count: map[string]float64{}, rate: map[string]float64{}}
}

func (t *rateTracker) record(at time.Time, counts map[string]float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	secs := at.Sub(t.at).Seconds()
	rate := map[string]float64{}
	for k, v := range counts {
		if old, ok := t.count[k]; ok && secs > 0 && v >= old {
			rate[k] = (v - old) / secs
		}
	}
	t.at, t.count, t.rate = at, counts, rate
}

// latest is the last sampled count of key and whether there is one.
func (t *rateTracker) latest(key string) (float64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.count[key]
	return v, ok
}

func (t *rateTracker) get(key string) float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rate[key]
}

// sampleLoop samples at once and then every SampleEvery until ctx ends.
func (c *Console) sampleLoop(ctx context.Context) {
	tick := time.NewTicker(c.cfg.SampleEvery)
	defer tick.Stop()
	for {
		c.sample(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (c *Console) sample(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	now := time.Now()
	if lags, err := c.totalLags(ctx); err != nil {
		if ctx.Err() == nil {
			c.cfg.Logger.Debug("console lag sample", "error", err)
		}
	} else {
		c.lags.record(now, lags)
	}
	if c.cfg.Workers != nil {
		c.rates.record(now, c.unitCounts(ctx))
	}
}

// unitCounts is each unit's record count: its own counter when it has
// one, else what the Kafka protocol shows (see Unit.Counted).
func (c *Console) unitCounts(ctx context.Context) map[string]float64 {
	counts := map[string]float64{}
	adm, _, err := c.adminClient()
	for _, u := range c.listUnits() {
		key := u.Kind + "/" + u.Name
		switch {
		case u.Counted:
			counts[key] = u.Records
		case err != nil:
		case u.Group != "":
			offs, ferr := adm.FetchOffsets(ctx, u.Group)
			if ferr == nil {
				var sum int64
				offs.Each(func(o kadm.OffsetResponse) {
					if o.Err == nil && o.At > 0 {
						sum += o.At
					}
				})
				counts[key] = float64(sum)
			}
		case u.Topic != "":
			ends, lerr := adm.ListEndOffsets(ctx, u.Topic)
			if lerr == nil {
				var sum int64
				ends.Each(func(o kadm.ListedOffset) {
					if o.Err == nil {
						sum += o.Offset
					}
				})
				counts[key] = float64(sum)
			}
		}
	}
	return counts
}

// totalLags is the total lag of every group the cluster lists.
func (c *Console) totalLags(ctx context.Context) (map[string]int64, error) {
	adm, _, err := c.adminClient()
	if err != nil {
		return nil, err
	}
	groups, err := adm.ListGroups(ctx)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	if len(groups) == 0 {
		return map[string]int64{}, nil
	}
	lags, err := adm.Lag(ctx, groups.Groups()...)
	if err != nil {
		return nil, fmt.Errorf("group lag: %w", err)
	}
	out := map[string]int64{}
	for g, l := range lags {
		if l.Error() == nil {
			out[g] = l.Lag.Total()
		}
	}
	return out, nil
}

// spark is an SVG polyline of samples.
type spark struct {
	Width, Height, Bottom int
	Points                string
	Max, Last             int64
	Count                 int
	Span                  string
}

func sparkOf(s []lagSample) *spark {
	if len(s) == 0 {
		return nil
	}
	sp := &spark{Width: 600, Height: 120, Count: len(s), Last: s[len(s)-1].Lag}
	sp.Bottom = sp.Height - 4
	for _, x := range s {
		sp.Max = max(sp.Max, x.Lag)
	}
	top := max(sp.Max, 1)
	var b strings.Builder
	for i, x := range s {
		xpos := 0
		if len(s) > 1 {
			xpos = i * (sp.Width - 1) / (len(s) - 1)
		}
		ypos := 20 + int((top-x.Lag)*int64(sp.Height-30)/top)
		fmt.Fprintf(&b, "%d,%d ", xpos, ypos)
	}
	sp.Points = strings.TrimSpace(b.String())
	sp.Span = fmt.Sprintf("%s – %s UTC", s[0].At.UTC().Format("15:04:05"), s[len(s)-1].At.UTC().Format("15:04:05"))
	return sp
}
