package plugins

import "time"

// batchSizer adapts the number of records per call to the plugin's latency:
// calls that come back well under the target with a full batch double the
// size, calls slower than the target halve it. It is owned by one instance's
// caller goroutine.
type batchSizer struct {
	min, max, cur int
	target        time.Duration
}

func newBatchSizer(min, max int, target time.Duration) *batchSizer {
	// Start in the middle of the range on a log scale, close to where most
	// plugins settle, so the first batches are neither tiny nor huge.
	cur := min
	for cur*4 <= max && cur < 256 {
		cur *= 2
	}
	return &batchSizer{min: min, max: max, cur: cur, target: target}
}

// size is the number of records to ask for or send next.
func (b *batchSizer) size() int { return b.cur }

// observe records a call that took took. full says whether
// the call was saturated (a source's batch came back with as many records as
// asked, or a sink was handed a whole batch): only then does its latency say
// something about the batch size rather than about waiting for data.
func (b *batchSizer) observe(full bool, took time.Duration) {
	if !full {
		return
	}
	switch {
	case took > b.target:
		b.cur = max(b.min, b.cur/2)
	case took < b.target/2:
		b.cur = min(b.max, b.cur*2)
	}
}
