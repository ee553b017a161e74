package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// consumerProc is a consumer child process and what it reported.
type consumerProc struct {
	name  string
	cmd   *exec.Cmd
	lines sync.WaitGroup

	mu        sync.Mutex
	recs      []tpo           // processed, in order
	commits   map[int32]int64 // latest acknowledged commit per partition
	assigned  []string        // assignment lines
	firstSeen map[int32]time.Time
	orderErr  string // a record processed again below its own acknowledged commit
}

type tpo struct {
	p int32
	o int64
}

func startConsumer(t *testing.T, name, addr, groupID, topic string) *consumerProc {
	t.Helper()
	c := &consumerProc{name: name, commits: map[int32]int64{}, firstSeen: map[int32]time.Time{}}
	c.cmd = exec.Command(os.Args[0], "-test.run=^$")
	c.cmd.Env = append(os.Environ(), childEnv+"=1", childAddrEnv+"="+addr, childGroupEnv+"="+groupID, childTopicEnv+"="+topic)
	c.cmd.Stderr = os.Stderr
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c.lines.Add(1)
	go func() {
		defer c.lines.Done()
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.line(sc.Text())
		}
	}()
	t.Cleanup(func() { c.kill() })
	return c
}

func (c *consumerProc) line(l string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var p int32
	var o int64
	switch {
	case strings.HasPrefix(l, "rec "):
		fmt.Sscanf(l, "rec %d %d", &p, &o)
		if done, ok := c.commits[p]; ok && o < done && c.orderErr == "" {
			c.orderErr = fmt.Sprintf("%s processed %d/%d after committing %d", c.name, p, o, done)
		}
		c.recs = append(c.recs, tpo{p, o})
		if _, ok := c.firstSeen[p]; !ok {
			c.firstSeen[p] = time.Now()
		}
	case strings.HasPrefix(l, "commit "):
		fmt.Sscanf(l, "commit %d %d", &p, &o)
		c.commits[p] = max(c.commits[p], o)
	case strings.HasPrefix(l, "assigned "):
		c.assigned = append(c.assigned, strings.TrimPrefix(l, "assigned "))
	}
}

// kill sends SIGKILL (no LeaveGroup, no commit) and waits for the process and
// its output reader.
func (c *consumerProc) kill() {
	if c.cmd.ProcessState == nil {
		_ = c.cmd.Process.Signal(syscall.SIGKILL)
		_ = c.cmd.Wait()
	}
	c.lines.Wait()
}

// owns is how many partitions the latest assignment gave the consumer.
func (c *consumerProc) owns() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.assigned) == 0 || c.assigned[len(c.assigned)-1] == "" {
		return 0
	}
	return len(strings.Split(c.assigned[len(c.assigned)-1], ","))
}

func (c *consumerProc) stats() (recs int, commits int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.recs), len(c.commits)
}

// TestSIGKILL: one of two consumer processes is killed with SIGKILL. The
// coordinator evicts it after its session timeout, the survivor takes its
// partitions over from the committed offsets, and, with commits after
// processing, no record is skipped and none below an acknowledged commit is
// consumed again.
func TestSIGKILL(t *testing.T) {
	_, addr := startBroker(t, t.TempDir())
	const topic, groupID, partitions, half = "kill", "kill-group", 6, 1500
	createTopic(t, addr, topic, partitions)
	prod := newClient(t, addr, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))

	a := startConsumer(t, "A", addr, groupID, topic)
	b := startConsumer(t, "B", addr, groupID, topic)
	waitFor(t, 60*time.Second, "both consumers to have partitions", func() bool {
		return a.owns() > 0 && b.owns() > 0 && a.owns()+b.owns() == partitions
	})
	produce(t, prod, topic, "a", half)
	waitFor(t, 60*time.Second, "both consumers to process and commit", func() bool {
		_, ca := a.stats()
		_, cb := b.stats()
		return ca > 0 && cb > 0
	})
	a.kill()
	killedAt := time.Now()
	a.mu.Lock()
	aParts := map[int32]bool{}
	for p := range a.commits {
		aParts[p] = true
	}
	a.mu.Unlock()
	produce(t, prod, topic, "b", half)

	// The coordinator evicts A once its session runs out: not before (its last
	// heartbeat was about one heartbeat interval before the kill; the bound
	// allows a few late heartbeats on a loaded machine), and not long after.
	adm := kadm.NewClient(prod)
	waitFor(t, 3*childSessionTimeout, "the killed consumer to be evicted", func() bool {
		d, err := adm.DescribeGroups(t.Context(), groupID)
		return err == nil && len(d[groupID].Members) == 1
	})
	evicted := time.Since(killedAt)
	lo, hi := childSessionTimeout-4*childHeartbeat, childSessionTimeout+3*time.Second
	if evicted < lo || evicted > hi {
		t.Fatalf("the killed consumer was evicted %v after the kill, want between %v and %v (session timeout %v)", evicted, lo, hi, childSessionTimeout)
	}
	t.Logf("the killed consumer was evicted %v after the kill", evicted.Round(time.Millisecond))

	// Every record is processed by someone.
	offsets := map[int32]int64{}
	ends, err := adm.ListEndOffsets(t.Context(), topic)
	if err != nil {
		t.Fatal(err)
	}
	ends.Each(func(o kadm.ListedOffset) { offsets[o.Partition] = o.Offset })
	processed := func() map[tpo]int {
		seen := map[tpo]int{}
		for _, c := range []*consumerProc{a, b} {
			c.mu.Lock()
			for _, r := range c.recs {
				seen[r]++
			}
			c.mu.Unlock()
		}
		return seen
	}
	waitFor(t, 60*time.Second, "every record to be processed", func() bool {
		seen := processed()
		for p, end := range offsets {
			for o := range end {
				if seen[tpo{p, o}] == 0 {
					return false
				}
			}
		}
		return true
	})

	// The killed consumer's partitions moved to B, after its session timeout.
	b.mu.Lock()
	for p := range aParts {
		first, ok := b.firstSeen[p]
		if !ok {
			t.Errorf("B never consumed partition %d of the killed consumer", p)
		} else if moved := first.Sub(killedAt); moved < lo {
			t.Errorf("partition %d moved %v after the kill, before the session timeout ran out", p, moved)
		} else {
			t.Logf("partition %d moved to B %v after the kill", p, moved.Round(time.Millisecond))
		}
	}
	orderErr := b.orderErr
	b.mu.Unlock()
	if orderErr != "" || a.orderErr != "" {
		t.Fatal(orderErr, a.orderErr)
	}

	// Records processed twice are only those A processed but had not committed.
	seen := processed()
	dups := 0
	for r, n := range seen {
		if n < 2 {
			continue
		}
		dups++
		if done, ok := a.commits[r.p]; ok && r.o < done {
			t.Errorf("record %d/%d consumed again although A committed %d", r.p, r.o, done)
		}
	}
	total := 0
	for _, end := range offsets {
		total += int(end)
	}
	t.Logf("%d records, %d processed twice (A's uncommitted tail), A committed %v", total, dups, a.commits)

	desc, err := adm.DescribeGroups(t.Context(), groupID)
	if err != nil {
		t.Fatal(err)
	}
	if d := desc[groupID]; d.State != "Stable" || len(d.Members) != 1 {
		t.Fatalf("group %s with %d members after the kill, want Stable with 1", d.State, len(d.Members))
	}
}
