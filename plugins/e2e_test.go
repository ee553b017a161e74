package plugins

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tributary-io/tributary/sdk"
	"github.com/tributary-io/tributary/sdk/sdktest"
)

// fileRegistry is a discovered registry holding the file connector.
func fileRegistry(t *testing.T) *Registry {
	t.Helper()
	cfg := testConfig(t, t.TempDir())
	install(t, bins.file, cfg.Dir, "file")
	return echoRegistry(t, cfg)
}

// killer SIGKILLs the plugin behind pid() at random moments until stopped.
type killer struct {
	stop  chan struct{}
	done  chan struct{}
	kills atomic.Int32
}

func startKiller(rng *rand.Rand, max int, pid func() int) *killer {
	k := &killer{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(k.done)
		for int(k.kills.Load()) < max {
			select {
			case <-k.stop:
				return
			case <-time.After(time.Duration(30+rng.IntN(120)) * time.Millisecond):
			}
			if p := pid(); p > 0 && syscall.Kill(p, syscall.SIGKILL) == nil {
				k.kills.Add(1)
			}
		}
	}()
	return k
}

// finished reports whether the killer has done all its kills.
func (k *killer) finished() bool {
	select {
	case <-k.done:
		return true
	default:
		return false
	}
}

func (k *killer) halt() int {
	close(k.stop)
	<-k.done
	return int(k.kills.Load())
}

// TestLogCollectionExactlyOnce tails a directory while a writer appends,
// rotates by rename and truncates, and the plugin is killed at random
// moments. The committed records (what a transaction would have put in
// the topic) hold every written line exactly once, each file's lines in order.
func TestLogCollectionExactlyOnce(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	reg := fileRegistry(t)
	logs := t.TempDir()
	path := filepath.Join(logs, "app.log")
	src := openSource(t, reg, "file", map[string]string{"paths": path + "*", "poll.interval": "10ms"}, nil)

	var committed atomic.Int64
	var written atomic.Int64
	var wg sync.WaitGroup
	writerDone := make(chan struct{})
	writerErr := make(chan error, 1)
	wctx, stopWriter := context.WithCancel(context.Background())
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(writerDone)
		writerErr <- writeRotating(wctx, path, &written, &committed)
	}()
	defer wg.Wait()
	defer stopWriter()

	const kills = 4
	k := startKiller(rng, kills, func() int { return src.Stats().PID })
	seen := map[string]int{}
	next := map[string]int{} // per generation, the next line number
	deadline := time.Now().Add(90 * time.Second)
	failures := 0
	for {
		select {
		case <-writerDone:
			// Done once everything is committed and the killer has done all
			// its kills, each followed by a restart.
			if committed.Load() == written.Load() && k.finished() && src.Stats().Restarts >= int(k.kills.Load()) {
				goto done
			}
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("committed %d of %d lines before the deadline", committed.Load(), written.Load())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		recs, err := src.Read(ctx, 500)
		cancel()
		if errors.Is(err, ErrPluginFailed) {
			failures++
			continue
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			continue
		}
		// "Write the batch and its position in one transaction": the batch
		// counts only once the commit is recorded.
		positions := make([]sdk.Position, len(recs))
		for i, r := range recs {
			positions[i] = r.Position
		}
		if err := src.Commit(context.Background(), positions); err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			line := string(r.Value)
			gen, n, ok := parseLine(line)
			if !ok {
				t.Fatalf("unexpected record %q", line)
			}
			seen[line]++
			if seen[line] > 1 {
				t.Fatalf("line %q committed twice", line)
			}
			if n != next[gen] {
				t.Fatalf("line %q committed after line %d of %s: out of file order", line, next[gen]-1, gen)
			}
			next[gen]++
		}
		committed.Add(int64(len(recs)))
	}
done:
	k.halt()
	if err := <-writerErr; err != nil {
		t.Fatal(err)
	}
	if int64(len(seen)) != written.Load() {
		t.Fatalf("committed %d distinct lines, wrote %d", len(seen), written.Load())
	}
	t.Logf("%d lines in %d generations, %d kills, %d failed reads, %d restarts", len(seen), len(next), kills, failures, src.Stats().Restarts)
}

// writeRotating appends numbered lines to path in a bounded loop, rotating
// by rename and truncating in between. Lines are "g<gen>-<n> …": gen changes
// with every new file content, so heads differ. Before truncating it waits
// for the reader to commit everything: lines truncated away unread are lost
// by any tailer.
func writeRotating(ctx context.Context, path string, written, committed *atomic.Int64) error {
	gen, n := 0, 0
	for round := 0; round < 24; round++ {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		for i := 0; i < 100; i++ {
			if _, err := fmt.Fprintf(f, "g%d-%d %s\n", gen, n, strings.Repeat("x", n%50)); err != nil {
				f.Close()
				return err
			}
			n++
			written.Add(1)
		}
		f.Close()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(10+round%5*10) * time.Millisecond):
		}
		switch round % 6 {
		case 5: // a rename rotation: the next lines go to a new file
			if err := os.Rename(path, fmt.Sprintf("%s.%d", path, gen)); err != nil {
				return err
			}
			gen, n = gen+1, 0
		case 2: // truncation in place, once the reader caught up
			for committed.Load() < written.Load() {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(5 * time.Millisecond):
				}
			}
			if err := os.Truncate(path, 0); err != nil {
				return err
			}
			gen, n = gen+1, 0
		}
	}
	return nil
}

// parseLine splits "g<gen>-<n> …" into its generation and number.
func parseLine(line string) (string, int, bool) {
	head, _, _ := strings.Cut(line, " ")
	gen, n, ok := strings.Cut(head, "-")
	var num int
	if _, err := fmt.Sscanf(n, "%d", &num); err != nil || !ok || !strings.HasPrefix(gen, "g") {
		return "", 0, false
	}
	return gen, num, true
}

// TestFileSinkKilledMidWrite writes numbered records through the file sink
// while its plugin is killed at random moments; the writer rewinds to the
// last flush on every failure, as a sink task rewinds to its committed
// offset. Every record ends up in the output at least once.
func TestFileSinkKilledMidWrite(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	reg := fileRegistry(t)
	out := t.TempDir()
	ctx := context.Background()
	cfg, err := reg.ParseConfig(ctx, "file", sdk.KindSink, map[string]string{"dir": out, "roll.bytes": "64KiB"})
	if err != nil {
		t.Fatal(err)
	}
	sink, err := reg.NewSink("file")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	if err := sink.Open(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	const total, batch, kills = 20000, 100, 4
	k := startKiller(rng, kills, func() int { return sink.Stats().PID })
	flushed, next, failures := 0, 0, 0
	deadline := time.Now().Add(60 * time.Second)
	// Write until every record is flushed and the killer has done all its
	// kills, each followed by a restart; afterwards the same records are
	// written again, as a sink task consuming from the topic again would.
	for flushed < total || !k.finished() || sink.Stats().Restarts < int(k.kills.Load()) {
		if flushed == total {
			flushed, next = 0, 0
		}
		if time.Now().After(deadline) {
			t.Fatalf("flushed %d of %d records before the deadline", flushed, total)
		}
		if next < total {
			recs := make([]sdk.Record, 0, batch)
			for i := next; i < min(next+batch, total); i++ {
				recs = append(recs, sdk.Record{Value: fmt.Appendf(nil, "record-%06d", i), Offset: int64(i)})
			}
			if err := sink.Write(ctx, recs); err != nil {
				if !errors.Is(err, ErrPluginFailed) {
					t.Fatal(err)
				}
				failures++
				next = flushed
				continue
			}
			next += len(recs)
		}
		if next-flushed >= 5*batch || next == total {
			if err := sink.Flush(ctx); err != nil {
				if !errors.Is(err, ErrPluginFailed) {
					t.Fatal(err)
				}
				failures++
				next = flushed
				continue
			}
			flushed = next
		}
	}
	k.halt()
	// Every record is in some file at least once; only a file's last line
	// may be torn by a kill.
	seen := map[string]bool{}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(out, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.SplitAfter(string(b), "\n") {
			if strings.HasSuffix(line, "\n") {
				seen[strings.TrimSuffix(line, "\n")] = true
			}
		}
	}
	for i := 0; i < total; i++ {
		if v := fmt.Sprintf("record-%06d", i); !seen[v] {
			t.Fatalf("%s is missing from the output", v)
		}
	}
	t.Logf("%d records in %d files, %d kills, %d failed calls, %d restarts", total, len(entries), kills, failures, sink.Stats().Restarts)
}

// TestFileConformanceOverTheWire runs the file connector's conformance
// suites against its plugin binary.
func TestFileConformanceOverTheWire(t *testing.T) {
	target := registryTarget{fileRegistry(t), "file"}
	t.Run("source", func(t *testing.T) {
		sdktest.RunSourceSuite(t, target, sdktest.SourceSuite{
			Setup: func(t *testing.T) sdktest.SourceFixture {
				dir := t.TempDir()
				n := 0
				return sdktest.SourceFixture{
					Config: map[string]string{"paths": filepath.Join(dir, "*.log"), "poll.interval": "5ms"},
					Produce: func(t *testing.T, count int) {
						f, err := os.OpenFile(filepath.Join(dir, "a.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
						if err != nil {
							t.Fatal(err)
						}
						defer f.Close()
						for i := 0; i < count; i++ {
							fmt.Fprintf(f, "line-%d\n", n)
							n++
						}
					},
				}
			},
		})
	})
	t.Run("sink", func(t *testing.T) {
		sdktest.RunSinkSuite(t, target, sdktest.SinkSuite{
			Setup: func(t *testing.T) sdktest.SinkFixture {
				dir := filepath.Join(t.TempDir(), "out")
				return sdktest.SinkFixture{
					Config: map[string]string{"dir": dir},
					Written: func(t *testing.T) [][]byte {
						entries, _ := os.ReadDir(dir)
						var out [][]byte
						for _, e := range entries {
							b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
							for _, l := range strings.SplitAfter(string(b), "\n") {
								if strings.HasSuffix(l, "\n") {
									out = append(out, []byte(strings.TrimSuffix(l, "\n")))
								}
							}
						}
						return out
					},
				}
			},
		})
	})
}
