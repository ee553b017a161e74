package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// failoverKills is how many leader kills BenchmarkLeaderFailover times.
const failoverKills = 20

// BenchmarkLeaderFailover reports the time from SIGKILL of a partition leader
// to the first successful acks=all produce on its new leader, as the median
// and the max over 20 kills (metrics failover-median-ms and failover-max-ms).
// Each kill is one measurement whatever b.N is, so run it with
// -benchtime=1x; each wait is bounded, and the killed node is restarted and
// back in the ISR before the next kill.
func BenchmarkLeaderFailover(b *testing.B) {
	c := startCluster(b)
	adm := kadm.NewClient(c.client())
	const topic = "failover"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	resp, err := adm.CreateTopic(ctx, 1, 3, map[string]*string{"min.insync.replicas": kadm.StringPtr("2")}, topic)
	cancel()
	if err != nil || resp.Err != nil {
		b.Fatalf("create topic: %v %v", err, resp.Err)
	}
	state := func() partitionState {
		st, err := c.describe(adm, topic)
		if err != nil {
			return partitionState{leader: -1}
		}
		return st[0]
	}
	fullISR := func() bool { return len(state().isr) == 3 }
	// Fast retries, so the figure is the cluster's failover, not the client's backoff.
	prod := c.client(kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProduceRequestTimeout(5*time.Second),
		kgo.RetryBackoffFn(func(int) time.Duration { return 20 * time.Millisecond }),
		kgo.MetadataMinAge(20*time.Millisecond))

	var took []time.Duration
	for i := range failoverKills {
		waitFor(b, 90*time.Second, "a full ISR", fullISR)
		// The shared client's Metadata answers can be a few seconds old (kgo
		// caches them), too old to pick the node to kill; agreedState asks each
		// node afresh.
		var victim int32
		waitFor(b, 30*time.Second, "every node agreeing on the leader", func() bool {
			st, ok := c.agreedState(topic)
			victim = st.leader
			return ok && victim > 0
		})
		// One produce before the kill, so the client knows the old leader.
		pctx, pcancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := prod.ProduceSync(pctx, &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, "before-%d", i)}).FirstErr(); err != nil {
			pcancel()
			b.Fatalf("kill %d: produce before: %v", i, err)
		}
		pcancel()

		start := time.Now()
		c.kill(c.node(victim))
		pctx, pcancel = context.WithTimeout(context.Background(), 60*time.Second)
		err := prod.ProduceSync(pctx, &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, "after-%d", i)}).FirstErr()
		elapsed := time.Since(start)
		pcancel()
		if err != nil {
			b.Fatalf("kill %d: no produce succeeded within 60s of killing node %d: %v", i, victim, err)
		}
		// The produce was acknowledged by a live leader: the killed one cannot answer.
		took = append(took, elapsed)
		c.restart(c.node(victim))
	}
	slices.Sort(took)
	for i := range took {
		took[i] = took[i].Round(time.Millisecond)
	}
	median := (took[(len(took)-1)/2] + took[len(took)/2]) / 2
	b.ReportMetric(float64(median.Microseconds())/1000, "failover-median-ms")
	b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "failover-max-ms")
	b.ReportMetric(0, "ns/op")
	b.Logf("leader kill to first produce on the new leader over %d kills: %v", len(took), took)
}
