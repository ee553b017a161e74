package streams_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tributary-io/tributary/streams"
	"github.com/tributary-io/tributary/streams/examples"
)

// runApp runs a word-count App on its own goroutine until the test ends;
// stop cancels it and returns Run's error.
func runApp(t *testing.T, cfg streams.Config, in, out string) (app *streams.App, stop func() error) {
	t.Helper()
	app, done, cancel := startApp(t, cfg, in, out)
	stopped := false
	var runErr error
	stop = func() error {
		if !stopped {
			cancel()
			runErr = <-done
			stopped = true
		}
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return app, stop
}

// startApp runs a word-count instance; done receives what Run returned.
// The caller cancels (and drains done) to stop it.
func startApp(t *testing.T, cfg streams.Config, in, out string) (*streams.App, <-chan error, context.CancelFunc) {
	t.Helper()
	b := streams.NewBuilder()
	examples.WordCount(b, in, out)
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	app, err := streams.New(top, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	return app, done, cancel
}

func waitGroupDone(t *testing.T, addr, app, in string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	adm := newAdmin(t, addr)
	ends, err := adm.ListEndOffsets(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for !groupDone(ctx, adm, app, in, ends) {
		if time.Now().After(deadline) {
			lagCtx, lagCancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer lagCancel()
			t.Fatalf("the group did not process every record in 2m: %s", groupLag(lagCtx, adm, app, app+"-words-repartition", in, ends, false))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTaskMoveRestoresFromChangelog lets instance A (on-disk stores) count
// the first half of the input alone, then starts instance B (in-memory
// stores): the rebalance moves tasks to B, which restores their stores from
// the changelog, and after the second half both the output and the stores
// (queried on both instances) hold the counts of the whole input.
func TestTaskMoveRestoresFromChangelog(t *testing.T) {
	const app, in, out = "wc-move", "move-in", "move-out"
	addr := startBroker(t)
	createTopics(t, addr, 4, false, in, out)
	rs, want := wordInput(in, 4_000, 5, 300, 2)
	half := map[string]int64{}
	for _, r := range rs[:len(rs)/2] {
		for _, w := range splitWords(string(r.Value)) {
			half[w]++
		}
	}
	produce(t, addr, rs[:len(rs)/2])

	cfgA := wordCountConfig(addr, app, "a")
	cfgA.StateDir = t.TempDir()
	a, _ := runApp(t, cfgA, in, out)
	waitGroupDone(t, addr, app, in)
	for w, n := range half {
		got, ok, err := streams.Get[string, int64](a, examples.WordCountStore, w)
		if err != nil || !ok || got != n {
			t.Fatalf("instance a: %s = %d, %v, %v; want %d", w, got, ok, err, n)
		}
	}

	b, _ := runApp(t, wordCountConfig(addr, app, "b"), in, out)
	waitFor(t, time.Minute, "instance b to take over and restore tasks", func() bool {
		if b.Stats().Tasks == 0 {
			return false
		}
		for _, r := range b.RestoreProgress() {
			if !r.Done {
				return false
			}
		}
		return len(b.RestoreProgress()) > 0
	})
	var restored int64
	for _, r := range b.RestoreProgress() {
		restored += r.Restored
	}
	if restored == 0 || b.Stats().Restored == 0 {
		t.Fatalf("instance b restored nothing: %+v", b.RestoreProgress())
	}

	produce(t, addr, rs[len(rs)/2:])
	waitGroupDone(t, addr, app, in)
	got := finalCounts(t, readCommitted(t, addr, out))
	if d := diffCounts(got, want); d != "" {
		t.Fatalf("final counts differ: %s", d)
	}
	// Every word is in exactly one instance's local store, with its count.
	for w, n := range want {
		va, oka, erra := streams.Get[string, int64](a, examples.WordCountStore, w)
		vb, okb, errb := streams.Get[string, int64](b, examples.WordCountStore, w)
		if err := errors.Join(erra, errb); err != nil {
			t.Fatal(err)
		}
		if oka == okb || (oka && va != n) || (okb && vb != n) {
			t.Fatalf("%s: a=%d (%v) b=%d (%v), want %d in exactly one", w, va, oka, vb, okb, n)
		}
	}
	t.Logf("a runs %d tasks, b %d; b restored %d changelog records", a.Stats().Tasks, b.Stats().Tasks, restored)
}

// TestFencedInstanceDropsTasks starts a second instance with the same
// instance id (so the same transactional id) while the first is working:
// the first is fenced, drops its tasks and Run returns ErrFenced.
func TestFencedInstanceDropsTasks(t *testing.T) {
	const app, in, out = "wc-fence", "fence-in", "fence-out"
	addr := startBroker(t)
	createTopics(t, addr, 2, false, in, out)
	rs, _ := wordInput(in, 2_000, 5, 100, 4)
	produce(t, addr, rs)
	first, firstDone, cancelFirst := startApp(t, wordCountConfig(addr, app, "same"), in, out)
	defer cancelFirst()
	waitFor(t, time.Minute, "the first instance to commit", func() bool { return first.Stats().Commits > 0 })

	second, stopSecond := runApp(t, wordCountConfig(addr, app, "same"), in, out)
	// Keep input flowing so the first instance writes and meets the fence; it
	// must end on its own with ErrFenced. (Its task count alone is no signal: it
	// also drops to zero for a moment while the rebalance takes tasks away.)
	deadline := time.Now().Add(time.Minute)
	var err error
	for fenced := false; !fenced; {
		select {
		case err = <-firstDone:
			fenced = true
		case <-time.After(100 * time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatal("the first instance was not fenced within a minute")
			}
			more, _ := wordInput(in, 50, 5, 100, uint64(time.Now().UnixNano()))
			produce(t, addr, more)
		}
	}
	if !errors.Is(err, streams.ErrFenced) {
		t.Fatalf("first instance: Run returned %v, want ErrFenced", err)
	}
	if n := first.Stats().Tasks; n != 0 {
		t.Fatalf("the fenced instance still holds %d tasks", n)
	}
	deadline = time.Now().Add(time.Minute)
	for second.Stats().Tasks == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the second instance owns no task after a minute; its Run returned %v", stopSecond())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRestartReusesOnDiskState stops an instance with on-disk stores cleanly
// and starts it again over the same state directory: its stores resume from
// their checkpoints (nothing to restore, since nothing was written to the
// changelogs in between), and the counts of the whole input come out right.
func TestRestartReusesOnDiskState(t *testing.T) {
	const app, in, out = "wc-disk", "disk-in", "disk-out"
	addr := startBroker(t)
	createTopics(t, addr, 2, false, in, out)
	rs, want := wordInput(in, 2_000, 5, 200, 6)
	produce(t, addr, rs[:1_000])
	cfg := wordCountConfig(addr, app, "a")
	cfg.StateDir = t.TempDir()
	_, stop := runApp(t, cfg, in, out)
	waitGroupDone(t, addr, app, in)
	if err := stop(); err != nil {
		t.Fatalf("clean stop: %v", err)
	}

	produce(t, addr, rs[1_000:])
	again, _ := runApp(t, cfg, in, out)
	waitGroupDone(t, addr, app, in)
	if n := again.Stats().Restored; n != 0 {
		t.Fatalf("the restarted instance restored %d changelog records; its checkpoints should cover them all", n)
	}
	for w, n := range want {
		got, ok, err := streams.Get[string, int64](again, examples.WordCountStore, w)
		if err != nil || !ok || got != n {
			t.Fatalf("%s = %d, %v, %v; want %d", w, got, ok, err, n)
		}
	}
	if d := diffCounts(finalCounts(t, readCommitted(t, addr, out)), want); d != "" {
		t.Fatalf("final counts differ: %s", d)
	}
}
