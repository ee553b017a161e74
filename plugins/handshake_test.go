package plugins

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestHandshake: a plugin binary run by anything but the host (no magic
// cookie) refuses to serve, and the host refuses a binary that answers the
// handshake with another protocol version, while still using the others.
func TestHandshake(t *testing.T) {
	t.Run("no cookie", func(t *testing.T) {
		cmd := exec.Command(bins.echo)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "echo 1.0.0 is a Tributary connector plugin") {
			t.Fatalf("echo run by hand: %v, output %q; want exit 1 and an explanation", err, out)
		}
	})
	t.Run("other protocol version", func(t *testing.T) {
		dir := t.TempDir()
		install(t, bins.echo, dir, "echo")
		// A go-plugin handshake line: core version, app protocol version,
		// network, address, protocol. Version 99 is not ours.
		script := "#!/bin/sh\necho '1|99|unix|" + filepath.Join(dir, "none.sock") + "|grpc'\nsleep 1\n"
		if err := os.WriteFile(filepath.Join(dir, "future"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		reg, err := NewRegistry(testConfig(t, dir))
		if err != nil {
			t.Fatal(err)
		}
		err = reg.Discover(context.Background())
		if err == nil || !strings.Contains(err.Error(), "future") || !strings.Contains(err.Error(), "99") {
			t.Fatalf("Discover = %v, want the protocol-99 binary refused", err)
		}
		if ms := reg.Plugins(); len(ms) != 1 || ms[0].Name != "echo" {
			t.Fatalf("plugins %v, want echo alone", ms)
		}
	})
}
