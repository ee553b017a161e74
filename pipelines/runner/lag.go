package runner

import (
	"context"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// lagTracker is one consumer's lag per partition it reads: how many records
// stand between the last record it polled and the end of the partition
// (the last stable offset, as it reads committed data). Fetches update it on
// the consumer's goroutine; revoked and lost partitions are forgotten from
// franz-go's callbacks, and Stats reads it, hence the lock.
type lagTracker struct {
	mu  sync.Mutex
	lag map[string]map[int32]int64
}

func newLagTracker() *lagTracker { return &lagTracker{lag: map[string]map[int32]int64{}} }

// observe records the lag of every partition that returned records.
func (l *lagTracker) observe(fetches kgo.Fetches) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		n := len(p.Records)
		if n == 0 {
			return
		}
		end := p.LastStableOffset
		if end < 0 {
			end = p.HighWatermark
		}
		parts := l.lag[p.Topic]
		if parts == nil {
			parts = map[int32]int64{}
			l.lag[p.Topic] = parts
		}
		parts[p.Partition] = max(0, end-p.Records[n-1].Offset-1)
	})
}

// forget drops partitions the consumer no longer reads; its signature is
// franz-go's OnPartitionsRevoked and OnPartitionsLost.
func (l *lagTracker) forget(_ context.Context, _ *kgo.Client, gone map[string][]int32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for topic, parts := range gone {
		for _, p := range parts {
			delete(l.lag[topic], p)
		}
	}
}

// total is the sum over the partitions.
func (l *lagTracker) total() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var sum int64
	for _, parts := range l.lag {
		for _, n := range parts {
			sum += n
		}
	}
	return sum
}
