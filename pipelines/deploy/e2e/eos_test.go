package e2e

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/pipelines/e2e/eoscheck"
	"github.com/tributary-io/tributary/pipelines/runner"
)

// TestWorkerExactlyOnceUnderSIGKILL: a deployed topic-to-topic pipeline
// (exactly-once, the default) processes 200,000 records while the
// `tributary worker` process running it is SIGKILLed again and again (a
// bounded loop) and started again; read_committed output holds each
// expected record exactly once. Two standalone workers, a1 and a2, sort
// before the node's own worker, so the pipeline runs on one of them while
// either lives, and moves between them as they die.
func TestWorkerExactlyOnceUnderSIGKILL(t *testing.T) {
	const total, maxKills, session = eoscheck.Records, 8, 3 * time.Second
	root := t.TempDir()
	n := startNode(t, filepath.Join(root, "data"), "", "", "worker:\n  session_timeout: 3s\n")
	for _, topic := range []string{"weos-in", "weos-out"} {
		if out, code := n.cli(t, "topic", "create", topic, "--partitions", "4"); code != 0 {
			t.Fatalf("topic create %s: %s", topic, out)
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.kafka), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for from := 0; from < total; from += 10_000 {
		recs := make([]*kgo.Record, 0, 10_000)
		for i := from; i < from+10_000; i++ {
			recs = append(recs, eoscheck.Input("weos-in", i))
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := cl.ProduceSync(ctx, recs...).FirstErr()
		cancel()
		if err != nil {
			t.Fatalf("produce: %v", err)
		}
	}
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	lag, err := eoscheck.Lagger(ctx, adm, runner.Group("eos-deployed"), "weos-in")
	cancel()
	if err != nil {
		t.Fatal(err)
	}

	workers := map[string]*proc{}
	startWorker := func(id string) {
		workers[id] = startProc(t, "worker "+id, "worker", "--bootstrap", n.kafka, "--plugin-dir", plugins,
			"--worker-id", id, "--session-timeout", session.String())
	}
	startWorker("a1")
	startWorker("a2")
	manifest := filepath.Join(root, "eos.yaml")
	if err := os.WriteFile(manifest, []byte(eoscheck.Manifest("eos-deployed", "weos-in", "weos-out", "")), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := n.cli(t, "apply", "-f", manifest); code != 0 || !strings.Contains(out, "+ pipeline/eos-deployed created") {
		t.Fatalf("apply: exit %d, output:\n%s", code, out)
	}
	owner := func() string {
		var st struct {
			State  string `json:"state"`
			Worker string `json:"worker_id"`
		}
		n.call(t, "GET", "/pipelines/eos-deployed/status", nil, &st)
		if st.State != "running" {
			return ""
		}
		return st.Worker
	}

	rng := rand.New(rand.NewPCG(7, 7))
	kills := 0
	for kills < maxKills {
		before := lag()
		var victim string
		waitFor(t, 2*time.Minute, "a standalone worker to run the pipeline and commit", func() bool {
			victim = owner()
			l := lag()
			return workers[victim] != nil && l >= 0 && l < before
		})
		time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
		workers[victim].kill()
		kills++
		startWorker(victim)
		if l := lag(); l < total/10 {
			t.Logf("kill %d left %d records", kills, l)
			break
		}
	}
	if kills < 3 {
		t.Errorf("only %d kills before the input was nearly done: the test does not exercise recovery", kills)
	}
	waitFor(t, 3*time.Minute, "the pipeline's group to commit every input offset", func() bool { return lag() == 0 })
	// The node knows where the pipeline runs; a standalone worker serves
	// no REST API, so the node says whose log to read.
	var e struct {
		Message string `json:"message"`
	}
	if code := n.call(t, "GET", "/pipelines/eos-deployed/logs", nil, &e); code != 404 || !strings.Contains(e.Message, "runs on worker a") {
		t.Errorf("GET logs of a pipeline on a standalone worker: %d %q", code, e.Message)
	}

	out := readAllRecords(t, n.kafka, "weos-out")
	if err := eoscheck.Check(out, total); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d SIGKILLs of the worker running the pipeline; read_committed output: %d records, each once", kills, len(out))
}
