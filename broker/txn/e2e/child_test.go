package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The test binary doubles as an exactly-once processor (TestMain runs runChild
// when childEnv is set), so TestExactlyOnceReadProcessWrite can SIGKILL real
// processes in the middle of their transactions.
const (
	childEnv      = "TRIBUTARY_TXN_E2E_CHILD"
	childAddrEnv  = "TRIBUTARY_TXN_E2E_ADDR"
	childGroupEnv = "TRIBUTARY_TXN_E2E_GROUP"
	childInEnv    = "TRIBUTARY_TXN_E2E_IN"
	childOutEnv   = "TRIBUTARY_TXN_E2E_OUT"
	childTxnIDEnv = "TRIBUTARY_TXN_E2E_TXN_ID"
	// childSessionTimeout is how long the group waits for a killed instance.
	childSessionTimeout = 3 * time.Second
)

// runChild consumes the input topic in a group and, in one transaction per
// poll, writes "out-<value>" for every input record to the output topic and
// commits the consumed offsets (kgo's GroupTransactSession). It prints
// "committed <n>" after each committed transaction and runs until killed; an
// error ending a transaction is printed and exits with status 2.
func runChild() int {
	out := bufio.NewWriter(os.Stdout)
	sess, err := kgo.NewGroupTransactSession(
		kgo.SeedBrokers(os.Getenv(childAddrEnv)),
		kgo.TransactionalID(os.Getenv(childTxnIDEnv)),
		kgo.TransactionTimeout(20*time.Second),
		kgo.ConsumerGroup(os.Getenv(childGroupEnv)),
		kgo.ConsumeTopics(os.Getenv(childInEnv)),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RequireStableFetchOffsets(),
		kgo.SessionTimeout(childSessionTimeout),
		kgo.HeartbeatInterval(300*time.Millisecond),
		kgo.RebalanceTimeout(10*time.Second),
		kgo.ProducerLinger(time.Millisecond),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer sess.Close()
	ctx := context.Background()
	topic := os.Getenv(childOutEnv)
	for {
		fs := sess.PollRecords(ctx, 500)
		if fs.IsClientClosed() {
			return 0
		}
		if err := sess.Begin(); err != nil {
			fmt.Fprintln(os.Stderr, "begin:", err)
			return 2
		}
		n := 0
		fs.EachRecord(func(r *kgo.Record) {
			n++
			sess.Produce(ctx, &kgo.Record{Topic: topic, Key: r.Key, Value: append([]byte("out-"), r.Value...)}, nil)
		})
		committed, err := sess.End(ctx, kgo.TryCommit)
		if err != nil {
			fmt.Fprintln(os.Stderr, "end:", err)
			return 2
		}
		if committed && n > 0 {
			fmt.Fprintf(out, "committed %d\n", n)
			out.Flush()
		}
	}
}
