package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tributary-io/tributary/platform"
)

// runServe runs a node until SIGINT or SIGTERM, then shuts it down gracefully
// within the configured shutdown timeout. A second signal exits at once with
// status 1, for an operator who does not want to wait for the drain.
func runServe(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "serve", "serve [--config FILE] [flags]")
	platform.RegisterFlags(fs)
	pprofAddr, args, err := takeFlag(args, pprofFlag)
	if err != nil {
		return err
	}
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErrorf("unexpected argument %q", rest[0])
	}
	cfg, err := platform.Load(platform.Sources{Env: c.env, Flags: fs})
	if err != nil {
		return fmt.Errorf("invalid configuration:\n  %s", strings.ReplaceAll(err.Error(), "\n", "\n  "))
	}
	logger, level := cfg.NewLevelLogger(c.stderr)
	if pprofAddr != "" {
		stopPprof, err := startPprof(pprofAddr, logger)
		if err != nil {
			return err
		}
		defer stopPprof()
	}
	node, err := platform.New(cfg, platform.WithLogger(logger), platform.WithLogLevel(level))
	if err != nil {
		return err
	}

	// Registered before Start so that a signal during start-up is seen here
	// and not by the default handler.
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)

	if err := node.Start(ctx); err != nil {
		if errors.Is(err, context.Canceled) {
			return errors.New("interrupted during start-up")
		}
		return err
	}
	return awaitShutdown(sig, node.Shutdown, cfg.ShutdownTimeout, logger, c.exit)
}

// awaitShutdown waits for the first signal, then runs shutdown bounded by
// timeout. A second signal while it runs calls exit(1) without waiting.
// shutdownGrace is how long past its timeout a shutdown may run before the
// process exits anyway: enough for steps that honour the deadline to return.
const shutdownGrace = 5 * time.Second

func awaitShutdown(sig <-chan os.Signal, shutdown func(context.Context) error, timeout time.Duration,
	logger *slog.Logger, exit func(int)) error {
	s := <-sig
	logger.Info("shutting down", "signal", s.String(), "timeout", timeout.String())
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- shutdown(ctx) }()
	// The timeout is a promise to the operator (and to systemd or Kubernetes):
	// a step that ignores its context, such as a controlled shutdown of a node
	// whose cluster lost its quorum, must not keep the process alive past it.
	backstop := time.NewTimer(timeout + shutdownGrace)
	defer backstop.Stop()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
		return nil
	case <-backstop.C:
		logger.Error("shutdown did not finish in time: exiting without finishing it", "timeout", timeout.String())
		exit(1)
		<-done // reached only when exit returns (in tests)
		return errors.New("shutdown timed out")
	case s := <-sig:
		logger.Error("second signal: exiting without finishing the shutdown", "signal", s.String())
		exit(1)
		// Reached only when exit returns (in tests): cancel the shutdown and
		// wait for it, so its goroutine does not outlive this call.
		cancel()
		<-done
		return errors.New("exited on a second signal")
	}
}
