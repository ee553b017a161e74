package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/tributary-io/tributary/pipelines/connect"
	"github.com/tributary-io/tributary/pipelines/deploy"
	"github.com/tributary-io/tributary/plugins"
)

// Worker flags shared by serve (to configure its worker) and worker.
const (
	pluginDirFlag = "plugin-dir"
	workerIDFlag  = "worker-id"
)

// runWorker runs a standalone worker: it joins the cluster's workers and
// runs its share of connector tasks and pipelines until SIGINT or SIGTERM.
func runWorker(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "worker", "worker [--bootstrap ADDRS] [--plugin-dir DIR] [--worker-id ID]")
	cf := addClientFlags(fs, c)
	dir := fs.String(pluginDirFlag, plugins.DefaultDir, "`directory` of connector plugin binaries")
	host, _ := os.Hostname()
	id := fs.String(workerIDFlag, host, "worker `id`: unique among live workers, stable across restarts")
	session := fs.Duration("session-timeout", 10*time.Second, "how long a dead worker's tasks wait before they move")
	level := fs.String("log-level", "info", "lowest logged `level`: debug, info, warn, error")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErrorf("unexpected argument %q", rest[0])
	}
	if err := cf.check(); err != nil {
		return err
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		return usageErrorf("--log-level %q: want debug, info, warn or error", *level)
	}
	logger := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: lv}))
	reg, err := plugins.NewRegistry(plugins.Config{Dir: *dir, Logger: logger.With("component", "plugins")})
	if err != nil {
		return err
	}
	if err := reg.Discover(ctx); err != nil {
		logger.Warn("plugin discovery", "dir", *dir, "error", err)
	}
	// Connectors and pipelines authenticate with the --sasl-* and --tls-*
	// flags, like any other client command.
	clientOpts, err := cf.security.opts()
	if err != nil {
		return err
	}
	w, err := deploy.New(deploy.Config{Seeds: cf.seeds(), ClientOpts: clientOpts, ID: *id, Host: connect.RegistryHost{Registry: reg},
		Logger: logger, SessionTimeout: *session})
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, cf.timeout)
	err = w.Start(sctx)
	cancel()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return errors.New("interrupted during start-up")
		}
		return err
	}
	<-ctx.Done()
	logger.Info("shutting down")
	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Stop(stopCtx); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	return nil
}
