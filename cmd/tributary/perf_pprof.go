package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"
)

// pprofFlag is serve's hidden flag for profiling: `--pprof-addr HOST:PORT`
// serves net/http/pprof there, on its own listener and mux, never on the
// node's HTTP port. `make bench PROFILE=1` uses it. It is hidden because it is
// a developer's tool, not an operator's setting.
const pprofFlag = "pprof-addr"

// takeFlag removes --name VALUE or --name=VALUE (one or two dashes) from args
// and returns the value ("" when absent) and the other arguments.
func takeFlag(args []string, name string) (string, []string, error) {
	var value string
	rest := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		trimmed := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		switch {
		case trimmed == name && trimmed != a:
			if i+1 >= len(args) {
				return "", nil, usageErrorf("--%s needs a value", name)
			}
			value = args[i+1]
			i++
		case strings.HasPrefix(trimmed, name+"=") && trimmed != a:
			value = strings.TrimPrefix(trimmed, name+"=")
		default:
			rest = append(rest, a)
		}
	}
	return value, rest, nil
}

// startPprof serves the pprof handlers on addr until the returned stop is
// called; stop shuts the server down and waits for it.
func startPprof(addr string, logger *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for pprof on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			logger.Warn("pprof server stopped", "err", err)
		}
	}()
	logger.Info("pprof listening", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			_ = srv.Close()
		}
		<-done
	}, nil
}
