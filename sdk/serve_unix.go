//go:build unix

package sdk

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"syscall"

	"github.com/tributary-io/tributary/plugins/pluginpb"
)

// watchHost makes the plugin exit when its host dies. The host passes the
// read end of a pipe whose write end only it holds; the read returns end of
// file when the host process is gone, however it died (SIGKILL included),
// because the kernel closes a dead process's descriptors.
//
// The goroutine lives as long as the process: it either exits the process
// or blocks until then. A host stopping the plugin gracefully closes its end
// only after the process exited, so this path is for a dead host alone.
func watchHost(log *slog.Logger) error {
	v := os.Getenv(pluginpb.EnvParentFD)
	if v == "" {
		return nil
	}
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return fmt.Errorf("%s=%q is not a file descriptor", pluginpb.EnvParentFD, v)
	}
	// Children the plugin starts must not keep the pipe open.
	syscall.CloseOnExec(fd)
	f := os.NewFile(uintptr(fd), "host-pipe")
	go func() {
		_, _ = io.Copy(io.Discard, f)
		log.Warn("the host is gone; exiting")
		os.Exit(3)
	}()
	return nil
}
