package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestKcatSharesGroupWithFranzGo: kcat -G (librdkafka's balanced consumer) and a
// franz-go consumer join one group and split the partitions between them.
func TestKcatSharesGroupWithFranzGo(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatalf("kcat is required (make deps installs it): %v", err)
	}
	_, addr := startBroker(t, t.TempDir())
	const topic, groupID, partitions = "kcat-shared", "kcat-g", 4
	createTopic(t, addr, topic, partitions)
	prod := newClient(t, addr, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	produce(t, prod, topic, "k", 40)

	// librdkafka's default assignors are range and roundrobin; franz-go's is
	// cooperative-sticky, so the franz-go member offers range too.
	own := newOwners()
	opts := append([]kgo.Opt{kgo.ConsumerGroup(groupID), kgo.ConsumeTopics(topic),
		kgo.Balancers(kgo.RangeBalancer()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.HeartbeatInterval(250 * time.Millisecond)}, own.opts("franz")...)
	newClient(t, addr, opts...)

	cmd := exec.Command(kcat, "-b", addr, "-G", groupID, "-q", "-u", "-f", "%p %o\n",
		"-X", "auto.offset.reset=earliest", "-X", "heartbeat.interval.ms=250", topic)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	kcatParts := map[int32]int{}
	var reader sync.WaitGroup
	reader.Add(1)
	go func() {
		defer reader.Done()
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var p int32
			var o int64
			if _, err := fmt.Sscanf(sc.Text(), "%d %d", &p, &o); err == nil {
				mu.Lock()
				kcatParts[p]++
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM) // kcat leaves the group on SIGTERM
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		reader.Wait()
	})

	adm := kadm.NewClient(prod)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var kcatAssigned map[int32]bool
	waitFor(t, 60*time.Second, "kcat and franz-go to share the partitions", func() bool {
		d, err := adm.DescribeGroups(ctx, groupID)
		if err != nil {
			return false
		}
		g := d[groupID]
		if g.State != "Stable" || len(g.Members) != 2 || g.Protocol != "range" {
			return false
		}
		all := map[int32]int{}
		kcatAssigned = map[int32]bool{}
		for _, m := range g.Members {
			ca, ok := m.Assigned.AsConsumer()
			if !ok || len(ca.Topics) != 1 || len(ca.Topics[0].Partitions) == 0 {
				return false
			}
			for _, p := range ca.Topics[0].Partitions {
				all[p]++
				if m.ClientID != "kgo" {
					kcatAssigned[p] = true
				}
			}
		}
		if len(all) != partitions {
			return false
		}
		for _, n := range all {
			if n != 1 {
				return false
			}
		}
		return len(kcatAssigned) > 0 && own.complete(partitions-len(kcatAssigned), []string{"franz"})
	})
	// kcat consumes its partitions and only those.
	waitFor(t, 30*time.Second, "kcat to consume its partitions", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for p := range kcatAssigned {
			if kcatParts[p] != 10 {
				return false
			}
		}
		return true
	})
	mu.Lock()
	for p := range kcatParts {
		if !kcatAssigned[p] {
			t.Errorf("kcat consumed partition %d that franz-go owns", p)
		}
	}
	mu.Unlock()
	if v := own.err(); v != "" {
		t.Fatal(v)
	}
}
