package streams_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/streams"
	"github.com/tributary-io/tributary/streams/examples"
)

// The test binary doubles as a word-count instance (TestMain runs runChild
// when childEnv is set), so the exactly-once test can SIGKILL real processes
// in the middle of their transactions.
const (
	childEnv         = "TRIBUTARY_STREAMS_CHILD"
	childAddrEnv     = "TRIBUTARY_STREAMS_ADDR"
	childAppEnv      = "TRIBUTARY_STREAMS_APP"
	childInstanceEnv = "TRIBUTARY_STREAMS_INSTANCE"
	childInEnv       = "TRIBUTARY_STREAMS_IN"
	childOutEnv      = "TRIBUTARY_STREAMS_OUT"
	childStateEnv    = "TRIBUTARY_STREAMS_STATE"
	childTopologyEnv = "TRIBUTARY_STREAMS_TOPOLOGY"
)

// wordCountConfig is the App configuration the tests and the child share.
func wordCountConfig(addr, app, instance string) streams.Config {
	return streams.Config{
		ApplicationID:      app,
		Brokers:            []string{addr},
		InstanceID:         instance,
		SessionTimeout:     3 * time.Second,
		TransactionTimeout: 10 * time.Second,
		CommitInterval:     100 * time.Millisecond,
		ClientOpts:         []kgo.Opt{kgo.RebalanceTimeout(10 * time.Second)},
		Logger:             testLogger(),
	}
}

// runChild runs word count (or, with childTopologyEnv=pageviews, page views
// per user per window) until SIGTERM (clean stop) or SIGKILL.
func runChild() int {
	b := streams.NewBuilder()
	if os.Getenv(childTopologyEnv) == "pageviews" {
		examples.PageViewsPerUser(b, os.Getenv(childInEnv), os.Getenv(childOutEnv), 0)
	} else {
		examples.WordCount(b, os.Getenv(childInEnv), os.Getenv(childOutEnv))
	}
	top, err := b.Build()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cfg := wordCountConfig(os.Getenv(childAddrEnv), os.Getenv(childAppEnv), os.Getenv(childInstanceEnv))
	cfg.StateDir = os.Getenv(childStateEnv)
	cfg.RepartitionPartitions = 4
	app, err := streams.New(top, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "run:", err)
		return 2
	}
	return 0
}

// child is one word-count process.
type child struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{}
}

func spawn(t *testing.T, env []string, instance string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append(env, childEnv+"=1", childInstanceEnv+"="+instance)...)
	c := &child{cmd: cmd, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(c.done) }()
	return c
}

func (c *child) kill() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// wordInput makes lines of words over a small vocabulary and returns the
// records and the count of every word.
func wordInput(topic string, lines, perLine, vocab int, seed uint64) ([]*kgo.Record, map[string]int64) {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	want := map[string]int64{}
	rs := make([]*kgo.Record, 0, lines)
	var sb strings.Builder
	for range lines {
		sb.Reset()
		for j := range perLine {
			w := fmt.Sprintf("w%04d", rng.IntN(vocab))
			want[w]++
			if j > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(w)
		}
		rs = append(rs, &kgo.Record{Topic: topic, Value: []byte(sb.String())})
	}
	return rs, want
}

// finalCounts folds word-count output into the last count of each word.
func finalCounts(t testing.TB, rs []*kgo.Record) map[string]int64 {
	t.Helper()
	got := map[string]int64{}
	for _, r := range rs {
		if len(r.Value) != 8 {
			t.Fatalf("output value %x is not an int64", r.Value)
		}
		got[string(r.Key)] = int64(binary.BigEndian.Uint64(r.Value))
	}
	return got
}

func diffCounts(got, want map[string]int64) string {
	var diffs []string
	for w, n := range want {
		if got[w] != n {
			diffs = append(diffs, fmt.Sprintf("%s: got %d want %d", w, got[w], n))
		}
	}
	for w := range got {
		if _, ok := want[w]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: unexpected", w))
		}
	}
	if len(diffs) > 5 {
		diffs = append(diffs[:5], fmt.Sprintf("... %d more", len(diffs)-5))
	}
	return strings.Join(diffs, "; ")
}

// groupDone reports whether app's group committed every input offset and
// every repartition offset (up to the final commit marker).
func groupDone(ctx context.Context, adm admin, app, in string, inEnds kadm.ListedOffsets) bool {
	return groupDoneMode(ctx, adm, app, in, inEnds, false)
}

// groupDoneMode is groupDone for either mode. A repartition partition counts
// as done only once its last stable offset reached its end (every
// transaction writing to it ended, markers included) and the group
// committed up to that end, less the trailing marker with transactions.
func groupDoneMode(ctx context.Context, adm admin, app, in string, inEnds kadm.ListedOffsets, atLeastOnce bool) bool {
	return groupDoneOn(ctx, adm, app, app+"-words-repartition", in, inEnds, atLeastOnce)
}

// groupDoneRep is groupDone for a topology whose repartition topic is rep.
func groupDoneRep(ctx context.Context, adm admin, app, rep, in string, inEnds kadm.ListedOffsets) bool {
	return groupDoneOn(ctx, adm, app, rep, in, inEnds, false)
}

func groupDoneOn(ctx context.Context, adm admin, app, rep, in string, inEnds kadm.ListedOffsets, atLeastOnce bool) bool {
	return groupLag(ctx, adm, app, rep, in, inEnds, atLeastOnce) == ""
}

// admin is a kadm client that can also read a partition directly.
type admin struct {
	*kadm.Client
	addr string
}

func newAdmin(t testing.TB, addr string) admin {
	return admin{Client: kadm.NewClient(newClient(t, addr)), addr: addr}
}

// dataAfter reports whether committed (read_committed) records remain at or
// after offset from. Overlapping transactions of two producers leave several
// commit markers at the end of a partition, so "committed up to the end less
// one marker" is not the test of done: only markers may lie after the commit.
// The stable offset has reached the end when this is asked, so a fetch returns
// any such record at once.
func (a admin) dataAfter(ctx context.Context, topic string, partition int32, from int64) bool {
	cl, err := kgo.NewClient(kgo.SeedBrokers(a.addr), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {partition: kgo.NewOffset().At(from)}}))
	if err != nil {
		return true
	}
	defer cl.Close()
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	for pctx.Err() == nil {
		fs := cl.PollFetches(pctx)
		if fs.NumRecords() > 0 {
			return true
		}
	}
	return false
}

// groupLag describes what the group has not done yet; "" when it is done.
func groupLag(ctx context.Context, adm admin, app, rep, in string, inEnds kadm.ListedOffsets, atLeastOnce bool) string {
	marker := int64(1)
	if atLeastOnce {
		marker = 0
	}
	offs, err := adm.FetchOffsets(ctx, app)
	if err != nil {
		return fmt.Sprintf("fetch offsets: %v", err)
	}
	repEnds, err := adm.ListEndOffsets(ctx, rep)
	if err == nil {
		err = repEnds.Error()
	}
	if err != nil {
		return fmt.Sprintf("end offsets of %s: %v", rep, err)
	}
	repStable, err := adm.ListCommittedOffsets(ctx, rep)
	if err == nil {
		err = repStable.Error()
	}
	if err != nil {
		return fmt.Sprintf("stable offsets of %s: %v", rep, err)
	}
	var lag []string
	inEnds.Each(func(o kadm.ListedOffset) {
		c, ok := offs.Lookup(in, o.Partition)
		if o.Err != nil || (o.Offset > 0 && (!ok || c.At < o.Offset)) {
			lag = append(lag, fmt.Sprintf("%s/%d committed %d of %d", in, o.Partition, c.At, o.Offset))
		}
	})
	repEnds.Each(func(o kadm.ListedOffset) {
		stable, ok := repStable.Lookup(rep, o.Partition)
		if !ok || stable.Offset != o.Offset {
			lag = append(lag, fmt.Sprintf("%s/%d stable %d of %d", rep, o.Partition, stable.Offset, o.Offset))
			return
		}
		c, ok := offs.Lookup(rep, o.Partition)
		if o.Offset > 0 && (!ok || c.At < o.Offset-marker) && (atLeastOnce || !ok || adm.dataAfter(ctx, rep, o.Partition, c.At)) {
			lag = append(lag, fmt.Sprintf("%s/%d committed %d of %d", rep, o.Partition, c.At, o.Offset))
		}
	})
	if len(repEnds) == 0 {
		lag = append(lag, "no repartition partitions")
	}
	return strings.Join(lag, "; ")
}

// TestWordCountExactlyOnceWithKills runs word count over 500,000 words in two
// instances (separate processes), SIGKILLs and restarts one of them in a
// bounded loop, and checks that the last count of every word in the output
// topic, read with read_committed, equals the count computed directly.
func TestWordCountExactlyOnceWithKills(t *testing.T) {
	const (
		lines, perLine, vocab = 50_000, 10, 2_000
		partitions            = 4
		kills                 = 4
		app, in, out          = "wc-eos", "wc-in", "wc-out"
	)
	addr := startBroker(t)
	createTopics(t, addr, partitions, false, in, out)
	rs, want := wordInput(in, lines, perLine, vocab, 1)
	produce(t, addr, rs)

	env := []string{childAddrEnv + "=" + addr, childAppEnv + "=" + app, childInEnv + "=" + in, childOutEnv + "=" + out}
	var mu sync.Mutex
	children := []*child{spawn(t, env, "a"), spawn(t, env, "b")}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range children {
			c.kill()
		}
	})
	restart := func(i int, why string) {
		mu.Lock()
		defer mu.Unlock()
		if why != "" {
			t.Logf("instance %d %s: %s", i, why, tail(children[i].stderr.String(), 5))
		}
		children[i].kill()
		children[i] = spawn(t, env, []string{"a", "b"}[i])
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	adm := newAdmin(t, addr)
	inEnds, err := adm.ListEndOffsets(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	progress := func() int64 {
		offs, err := adm.FetchOffsets(ctx, app)
		if err != nil {
			return 0
		}
		var sum int64
		offs.Each(func(o kadm.OffsetResponse) {
			if o.Topic == in && o.Err == nil {
				sum += o.At
			}
		})
		return sum
	}
	start := time.Now()
	killed := 0
	deadline := time.Now().Add(4 * time.Minute)
	for !groupDone(ctx, adm, app, in, inEnds) {
		if time.Now().After(deadline) {
			t.Fatalf("not done before the deadline: %d of %d input lines committed, %d kills", progress(), lines, killed)
		}
		for i := range children {
			mu.Lock()
			exited := children[i].exited()
			mu.Unlock()
			if exited {
				restart(i, "exited")
			}
		}
		if p := progress(); killed < kills && p >= int64(killed+1)*lines/(kills+2) {
			restart(killed%2, "")
			killed++
		}
		time.Sleep(50 * time.Millisecond)
	}
	if killed < kills {
		t.Fatalf("only %d of %d kills happened before the input was done", killed, kills)
	}
	elapsed := time.Since(start)
	mu.Lock()
	for _, c := range children {
		c.kill()
	}
	mu.Unlock()
	output := readCommitted(t, addr, out)
	got := finalCounts(t, output)
	if d := diffCounts(got, want); d != "" {
		t.Fatalf("final counts differ from the direct computation: %s", d)
	}
	t.Logf("%d words in %v through 2 instances with %d SIGKILLs; %d distinct words match; %d committed output records",
		lines*perLine, elapsed.Round(time.Millisecond), killed, len(want), len(output))
}

func splitWords(s string) []string { return strings.Fields(s) }

// testLogger logs to stderr when STREAMS_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("STREAMS_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
