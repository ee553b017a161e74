package e2e

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/connectors/postgres/internal/cdccheck"
)

// TestSnapshotProgressCLI follows a real initial snapshot of two tables,
// while a writer changes one of them, with `tributary connector snapshot`:
// it reads the positions the source task commits, shows progress out of two
// tables, ends when the snapshot is done, and --no-wait then reports it done.
func TestSnapshotProgressCLI(t *testing.T) {
	srv := pg.Server(t)
	db := srv.NewDatabase(t)
	admin := srv.Connect(t, db)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, table := range []string{"alpha", "beta"} {
		if err := cdccheck.CreateTable(ctx, admin, table, 20_000); err != nil {
			t.Fatal(err)
		}
	}
	n := startNode(t, t.TempDir(), loopbackAddr(t), loopbackAddr(t))
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.kafka))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopics(ctx, 1, 1, nil, "pg.public.alpha", "pg.public.beta", "pg.unused"); err != nil {
		t.Fatal(err)
	}
	// Changes keep coming: the snapshot's end shows in the position of the
	// first change streamed after it.
	w := cdccheck.StartWriter(srv.Connect(t, db), "alpha", 20_000, 1, 20*time.Millisecond)
	defer w.Stop()
	cfg := sourceConfig(srv, db, map[string]string{"snapshot.fetch.size": "100"})
	cfg["plugin"], cfg["type"], cfg["topic"] = "postgres", "source", "pg.unused"
	createConnector(t, n.api, "cdc", cfg)

	run := func(args ...string) (string, string, error) {
		cmd := exec.CommandContext(ctx, bin.Path, append([]string{"connector", "snapshot", "cdc", "--bootstrap", n.kafka}, args...)...)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	stdout, stderr, err := run("--progress", "always", "--interval", "50ms", "--timeout", "2m")
	if err != nil {
		t.Fatalf("connector snapshot: %v\nstdout %s\nstderr %s", err, stdout, stderr)
	}
	if !strings.Contains(stdout, "cdc task 0: snapshot done (2 tables)") && !strings.Contains(stdout, "no snapshot in progress") {
		t.Errorf("connector snapshot ended with %q", stdout)
	}
	// While it ran, the real positions decoded as a snapshot of two tables.
	if !strings.Contains(stderr, "/2 tables") {
		t.Errorf("no progress out of 2 tables was shown:\n%s", stderr)
	}
	stdout, stderr, err = run("--no-wait", "--output", "json")
	var st struct {
		Started, Done bool
	}
	if err != nil || json.Unmarshal([]byte(stdout), &st) != nil || !st.Started || !st.Done {
		t.Errorf("--no-wait after the snapshot: %v %+v\nstdout %s\nstderr %s", err, st, stdout, stderr)
	}
}
