package plugins

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/tributary-io/tributary/plugins/internal/echo"
	"github.com/tributary-io/tributary/sdk"
	"github.com/tributary-io/tributary/sdk/sdktest"
)

// TestRestartOutlastsShortReadDeadlines: a crashed plugin comes back even
// when every Read gives up sooner than a plugin can start (a connector task
// waits only briefly for data; a loaded machine starts processes slowly).
// The restart's Open is not cut short by the caller's deadline, so it is
// not counted as one more failure after another.
func TestRestartOutlastsShortReadDeadlines(t *testing.T) {
	reg := echoRegistry(t, testConfig(t, ""))
	ctx := context.Background()
	src := openSource(t, reg, "echo", map[string]string{}, nil)
	pid := readCommitSignal(t, src, 9, syscall.SIGKILL)
	waitFor(t, 5*time.Second, "the killed plugin to exit", func() bool { return processGone(pid) })
	// Reads with a deadline of 1ms: no plugin starts that fast.
	waitFor(t, 20*time.Second, "a restarted plugin", func() bool {
		rctx, cancel := context.WithTimeout(ctx, time.Millisecond)
		_, _ = src.Read(rctx, 10)
		cancel()
		st := src.Stats()
		return st.PID != 0 && st.PID != pid && st.Restarts == 1
	})
	again := sdktest.ReadN(t, src, 1, 1, 10*time.Second)
	if n, err := echo.Index("rec", again[0].Value); err != nil || n != 10 {
		t.Fatalf("after the restart the source read %q, want rec-10 (after the committed rec-9)", again[0].Value)
	}
}

// readCommitSignal reads the echo source's first ten records, commits the
// position of record committed, then sends sig to the plugin process and
// returns its pid.
func readCommitSignal(t *testing.T, src *Source, committed int, sig syscall.Signal) int {
	t.Helper()
	first := sdktest.ReadN(t, src, 10, 10, 10*time.Second)
	if err := src.Commit(context.Background(), []sdk.Position{first[committed].Position}); err != nil {
		t.Fatal(err)
	}
	pid := src.Stats().PID
	if err := syscall.Kill(pid, sig); err != nil {
		t.Fatal(err)
	}
	return pid
}
