package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The test binary doubles as a consumer process (TestMain runs runChild when
// childEnv is set), so TestSIGKILL can kill a real process without LeaveGroup.
const (
	childEnv      = "TRIBUTARY_GROUP_E2E_CHILD"
	childAddrEnv  = "TRIBUTARY_GROUP_E2E_ADDR"
	childGroupEnv = "TRIBUTARY_GROUP_E2E_GROUP"
	childTopicEnv = "TRIBUTARY_GROUP_E2E_TOPIC"
	// childSessionTimeout is the consumers' session.timeout.ms: how long the
	// coordinator waits for a killed consumer.
	childSessionTimeout = 6 * time.Second
	// childHeartbeat is the consumers' heartbeat.interval.ms.
	childHeartbeat = 500 * time.Millisecond
)

// runChild consumes until killed. For every poll it prints the records it
// processed ("rec <partition> <offset>"), flushes, commits them synchronously,
// and prints what the commit acknowledged ("commit <partition> <next offset>").
// It also prints its whole assignment after every change ("assigned <partitions>").
func runChild() int {
	// out is shared by the poll loop and the assignment callback.
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	// owned is the current assignment; cooperative rebalances report changes
	// incrementally, so the child prints the whole set after each one.
	owned := map[int32]bool{}
	report := func(m map[string][]int32, add bool) {
		mu.Lock()
		defer mu.Unlock()
		for _, parts := range m {
			for _, p := range parts {
				if add {
					owned[p] = true
				} else {
					delete(owned, p)
				}
			}
		}
		var ps []string
		for p := range owned {
			ps = append(ps, fmt.Sprint(p))
		}
		sort.Strings(ps)
		fmt.Fprintln(out, "assigned "+strings.Join(ps, ","))
		out.Flush()
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(os.Getenv(childAddrEnv)),
		kgo.ConsumerGroup(os.Getenv(childGroupEnv)),
		kgo.ConsumeTopics(os.Getenv(childTopicEnv)),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.SessionTimeout(childSessionTimeout),
		kgo.HeartbeatInterval(childHeartbeat),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { report(m, true) }),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { report(m, false) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { report(m, false) }),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cl.Close()
	ctx := context.Background()
	for {
		fs := cl.PollRecords(ctx, 200)
		if fs.IsClientClosed() {
			return 0
		}
		var recs []*kgo.Record
		mu.Lock()
		fs.EachRecord(func(r *kgo.Record) {
			fmt.Fprintf(out, "rec %d %d\n", r.Partition, r.Offset)
			recs = append(recs, r)
		})
		out.Flush()
		mu.Unlock()
		if len(recs) == 0 {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := cl.CommitRecords(cctx, recs...)
		cancel()
		if err != nil {
			continue // not committed: these records may be consumed again
		}
		next := map[int32]int64{}
		for _, r := range recs {
			next[r.Partition] = max(next[r.Partition], r.Offset+1)
		}
		mu.Lock()
		for p, o := range next {
			fmt.Fprintf(out, "commit %d %d\n", p, o)
		}
		out.Flush()
		mu.Unlock()
	}
}
