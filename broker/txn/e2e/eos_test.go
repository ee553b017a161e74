package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// child is one exactly-once processor process.
type child struct {
	slot   int
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	done   chan struct{} // closed when the process has exited and been waited for
	status error
}

// spawn starts a processor for slot; its transactional id belongs to the slot, so
// a restarted instance fences the killed one and aborts its open transaction.
func spawn(t *testing.T, slot int, env []string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append(env, childEnv+"=1", fmt.Sprintf("%s=eos-%d", childTxnIDEnv, slot))...)
	c := &child{slot: slot, cmd: cmd, stderr: &bytes.Buffer{}, done: make(chan struct{})}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		c.status = cmd.Wait()
		close(c.done)
	}()
	return c
}

// kill SIGKILLs the process and waits for it.
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

// TestExactlyOnceReadProcessWrite runs three exactly-once processors (franz-go
// GroupTransactSession) as separate processes over 100,000 numbered input
// records, SIGKILLs and restarts them in a bounded loop, and then checks that
// the output, read with read_committed, holds every input record exactly once.
func TestExactlyOnceReadProcessWrite(t *testing.T) {
	const (
		records    = 100_000
		partitions = 6
		instances  = 3
		kills      = 6
		in, out    = "eos-in", "eos-out"
		group      = "eos"
	)
	n := startNode(t, nil)
	createTopics(t, n.addr(), partitions, in, out)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	prod := newClient(t, n.addr(), kgo.ProducerLinger(5*time.Millisecond))
	batch := make([]*kgo.Record, 0, 10_000)
	for i := range records {
		v := []byte(strconv.Itoa(i))
		batch = append(batch, &kgo.Record{Topic: in, Key: v, Value: v})
		if len(batch) == cap(batch) || i == records-1 {
			if err := prod.ProduceSync(ctx, batch...).FirstErr(); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}

	env := []string{childAddrEnv + "=" + n.addr(), childGroupEnv + "=" + group, childInEnv + "=" + in, childOutEnv + "=" + out}
	var mu sync.Mutex
	children := make([]*child, instances)
	for i := range children {
		children[i] = spawn(t, i, env)
	}
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
		c := children[i]
		if why != "" {
			t.Logf("instance %d %s: %s", i, why, strings.TrimSpace(c.stderr.String()))
		}
		c.kill()
		children[i] = spawn(t, i, env)
	}

	adm := kadm.NewClient(newClient(t, n.addr()))
	ends, err := adm.ListEndOffsets(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	progress := func() int64 {
		offs, err := adm.FetchOffsets(ctx, group)
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

	// Kill one instance roughly every tenth of the input, while it works.
	killed := 0
	deadline := time.Now().Add(4 * time.Minute)
	for step := int64(1); time.Now().Before(deadline); {
		p := progress()
		if p >= records {
			break
		}
		for i := range instances {
			mu.Lock()
			exited := children[i].exited()
			mu.Unlock()
			if exited {
				restart(i, "exited")
			}
		}
		if killed < kills && p >= step*records/(kills+2) {
			restart(killed%instances, "")
			killed++
			step++
		}
		time.Sleep(50 * time.Millisecond)
	}
	if p := progress(); p < records {
		t.Fatalf("the group committed %d of %d input offsets before the deadline (%d kills)", p, records, killed)
	}
	if killed < kills {
		t.Fatalf("only %d of %d kills happened", killed, kills)
	}
	var total int64
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	if total != records {
		t.Fatalf("the input holds %d records", total)
	}

	seen := make([]int, records)
	for _, r := range readAll(t, n.addr(), out, true) {
		v, ok := strings.CutPrefix(string(r.Value), "out-")
		i, err := strconv.Atoi(v)
		if !ok || err != nil || i < 0 || i >= records {
			t.Fatalf("unexpected output record %q", r.Value)
		}
		seen[i]++
	}
	var missing, dups []int
	for i, c := range seen {
		switch {
		case c == 0:
			missing = append(missing, i)
		case c > 1:
			dups = append(dups, i)
		}
	}
	if len(missing) > 0 || len(dups) > 0 {
		t.Fatalf("output: %d input records missing (first %v), %d duplicated (first %v)", len(missing), head(missing), len(dups), head(dups))
	}
	aborted := len(readAll(t, n.addr(), out, false)) - records
	t.Logf("every one of %d records exactly once in the output after %d SIGKILLs; %d aborted records in the log", records, killed, aborted)
}

func head(xs []int) []int { return xs[:min(len(xs), 5)] }
