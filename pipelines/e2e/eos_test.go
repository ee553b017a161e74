package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/pipelines/e2e/eoscheck"
	"github.com/tributary-io/tributary/pipelines/runner"
)

// TestExactlyOnceUnderSIGKILL: a topic-to-topic pipeline processes 200,000
// records while its process (`tributary pipeline run`) is killed with
// SIGKILL again and again and restarted; read_committed output holds each
// expected record exactly once.
func TestExactlyOnceUnderSIGKILL(t *testing.T) {
	// Kill until most of the input went through killed processes (at most
	// maxKills times), then let a last process finish.
	const total, maxKills = eoscheck.Records, 40
	addr := startBroker(t)
	createTopics(t, addr, 4, "eos-in", "eos-out")
	recs := make([]*kgo.Record, total)
	for i := range recs {
		recs[i] = eoscheck.Input("eos-in", i)
	}
	produce(t, addr, recs)
	file := writeFile(t, "eos.yaml", eoscheck.Manifest("eos-e2e", "eos-in", "eos-out", "  parallelism: 2\n"))
	args := []string{"pipeline", "run", "-f", file, "--bootstrap", addr, "--instance", "eos",
		"--session-timeout", "10s", "--max-poll-records", "200", "--stats-interval", "500ms"}

	adm := kadm.NewClient(newClient(t, addr))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	lag, err := eoscheck.Lagger(ctx, adm, runner.Group("eos-e2e"), "eos-in")
	cancel()
	if err != nil {
		t.Fatal(err)
	}

	rng := rand.New(rand.NewPCG(9, 9))
	killed := 0
	for k := range maxKills {
		c := start(t, fmt.Sprintf("pipeline run #%d", k+1), args...)
		// Kill it at a random moment once it is working: after it has
		// committed something new, plus up to 400ms, so kills land in
		// the middle of transactions all along the input.
		before := lag()
		waitFor(t, 2*time.Minute, "the pipeline to make progress", func() bool {
			if c.exited() {
				t.Fatalf("pipeline run #%d exited by itself:\n%s", k+1, tail(c.out.String(), 30))
			}
			l := lag()
			return l >= 0 && l < before
		})
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		c.kill()
		killed++
		if l := lag(); l < total/10 {
			t.Logf("kill #%d left %d records to the final run", k+1, l)
			break
		}
	}
	if killed < 10 {
		t.Errorf("only %d kills: the test kills too late to exercise recovery", killed)
	}
	final := start(t, "pipeline run (final)", args...)
	waitFor(t, time.Minute, "the final run to start", func() bool { return strings.Contains(final.out.String(), "pipeline starting") })
	waitFor(t, 3*time.Minute, "the group to commit every input offset", func() bool {
		if final.exited() {
			t.Fatalf("the final pipeline run exited:\n%s", tail(final.out.String(), 30))
		}
		return lag() == 0
	})
	if code, err := final.terminate(30 * time.Second); err != nil || code != 0 {
		t.Fatalf("the final run stopped with %d, %v", code, err)
	}
	if !strings.Contains(final.out.String(), "pipeline stopped") {
		t.Errorf("no final stats line:\n%s", tail(final.out.String(), 10))
	}

	out := drain(t, addr, "eos-out", false)
	if err := eoscheck.Check(out, total); err != nil {
		t.Fatal(err)
	}
	all := drain(t, addr, "eos-out", true)
	t.Logf("%d SIGKILLs; read_committed: %d records, each once; read_uncommitted: %d (aborted duplicates included)", killed, len(out), len(all))
}
