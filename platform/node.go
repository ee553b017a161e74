package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tributary-io/tributary/broker"
	"github.com/tributary-io/tributary/pipelines/deploy"
	"github.com/tributary-io/tributary/platform/console"
	"github.com/tributary-io/tributary/plugins"
	"github.com/tributary-io/tributary/plugins/pluginmetrics"
)

// brokerService is what a Node needs from the broker; *broker.Broker has it.
// Tests put a fake here to check the node's ordering without disk or network.
type brokerService interface {
	Start(ctx context.Context) error
	Addrs() []net.Addr
	Shutdown(ctx context.Context) error
}

// Option changes how New builds a Node.
type Option func(*nodeOptions)

type nodeOptions struct {
	logger    *slog.Logger
	level     *slog.LevelVar
	newBroker func(broker.Config) (brokerService, error)
}

// WithLogger sets the node's logger. Default: Config.NewLevelLogger(os.Stderr).
// Pass the logger's level variable with WithLogLevel so PUT /admin/log-level
// can change it.
func WithLogger(l *slog.Logger) Option { return func(o *nodeOptions) { o.logger = l } }

// WithLogLevel sets the level variable that the node's logger filters by,
// as Config.NewLevelLogger returns it; PUT /admin/log-level sets it. Default:
// the one of the default logger, or a variable that nothing reads when
// WithLogger was given alone.
func WithLogLevel(v *slog.LevelVar) Option { return func(o *nodeOptions) { o.level = v } }

// withBroker replaces the broker constructor (tests only).
func withBroker(f func(broker.Config) (brokerService, error)) Option {
	return func(o *nodeOptions) { o.newBroker = f }
}

// Node is one running Tributary node: the broker and the HTTP server.
// Start and Shutdown are each called once, from one goroutine.
type Node struct {
	cfg    Config
	logger *slog.Logger
	level  *slog.LevelVar // the logger's lowest level; PUT /admin/log-level sets it
	broker brokerService

	registry      *prometheus.Registry // what /metrics serves (metrics.go)
	workerMetrics *pluginmetrics.Metrics

	ready atomic.Bool // /readyz answers 200 while set

	// plugins and worker run connectors and pipelines (worker.go); nil
	// when the worker is disabled or failed to start. Set by Start before
	// ready turns true, read by the API handlers after.
	plugins *plugins.Registry
	worker  *deploy.Worker

	// console serves the web console (console.go); it connects to the
	// broker once Start has it listening.
	console *console.Console

	httpLn   net.Listener // nil before Start and after the server stopped
	httpAddr net.Addr     // the bound HTTP address, kept for logs and tests
	httpSrv  *http.Server
	httpDone chan struct{} // closed when the Serve goroutine returns
	httpErr  error         // Serve's error; read after httpDone

	shutdownOnce sync.Once
	shutdownErr  error
}

// New validates cfg (after applying defaults) and builds the node's parts. It
// opens no files and no sockets; Start does.
func New(cfg Config, opts ...Option) (*Node, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("node config: %w", err)
	}
	o := nodeOptions{
		newBroker: func(bc broker.Config) (brokerService, error) { return broker.New(bc) },
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger, o.level = cfg.NewLevelLogger(os.Stderr)
	}
	if o.level == nil {
		o.level = new(slog.LevelVar)
		if l, err := parseLevel(cfg.LogLevel); err == nil {
			o.level.Set(l)
		}
	}
	reg, wm, err := newRegistry()
	if err != nil {
		return nil, err
	}
	bc, err := cfg.BrokerConfig(o.logger)
	if err != nil {
		return nil, fmt.Errorf("node config: %w", err)
	}
	bc.Metrics = reg
	b, err := o.newBroker(bc)
	if err != nil {
		return nil, fmt.Errorf("create broker: %w", err)
	}
	n := &Node{cfg: cfg, logger: o.logger, level: o.level, broker: b, registry: reg, workerMetrics: wm}
	n.console, err = console.New(console.Config{Workers: consoleWorkers{n}, Logger: o.logger.With("component", "console")})
	if err != nil {
		return nil, err
	}
	n.httpSrv = &http.Server{
		Handler:           n.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(o.logger.Handler(), slog.LevelWarn),
	}
	return n, nil
}

// Start brings the node up: the HTTP server first (liveness answers while the
// broker recovers its logs), then the broker; it returns once Kafka clients can
// connect and /readyz says 200. ctx bounds start-up only. On error everything
// started so far is stopped again.
func (n *Node) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", n.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen for HTTP on %s: %w", n.cfg.HTTPAddr, err)
	}
	n.httpLn = ln
	n.httpAddr = ln.Addr()
	n.httpDone = make(chan struct{})
	go func() {
		defer close(n.httpDone)
		if err := n.httpSrv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			n.httpErr = err
		}
	}()
	n.logger.Info("http server listening", "addr", ln.Addr().String())

	if err := n.broker.Start(ctx); err != nil {
		stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		httpErr := n.stopHTTP(stopCtx)
		n.httpLn = nil // stopped; Shutdown must not stop it again
		return errors.Join(fmt.Errorf("start broker: %w", err), httpErr)
	}
	if err := n.startWorker(ctx); err != nil {
		// The broker serves without it; the API says why connectors and
		// pipelines are unavailable.
		n.logger.Error("worker did not start", "error", err)
	}
	n.startConsole()
	n.ready.Store(true)
	addrs := make([]string, 0, len(n.broker.Addrs()))
	for _, a := range n.broker.Addrs() {
		addrs = append(addrs, a.String())
	}
	n.logger.Info("node started", "node_id", n.cfg.NodeID, "kafka", addrs,
		"http", ln.Addr().String(), "data_dir", n.cfg.DataDir)
	return nil
}

// KafkaAddrs returns the broker's bound listener addresses (after Start).
func (n *Node) KafkaAddrs() []net.Addr { return n.broker.Addrs() }

// HTTPAddr returns the HTTP server's bound address, or nil before Start.
func (n *Node) HTTPAddr() net.Addr { return n.httpAddr }

// Shutdown stops the node in reverse start order: /readyz turns 503, the
// broker stops accepting, drains in-flight requests until ctx is done and
// flushes its logs, then the HTTP server stops. Later calls return the first
// call's result.
func (n *Node) Shutdown(ctx context.Context) error {
	n.shutdownOnce.Do(func() {
		n.ready.Store(false)
		n.console.Close()
		var errs []error
		if n.worker != nil {
			if err := n.worker.Stop(ctx); err != nil {
				errs = append(errs, fmt.Errorf("stop worker: %w", err))
			}
		}
		if err := n.broker.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shut down broker: %w", err))
		}
		if n.httpLn != nil {
			errs = append(errs, n.stopHTTP(ctx))
		}
		n.shutdownErr = errors.Join(errs...)
		if n.shutdownErr != nil {
			n.logger.Error("node stopped with errors", "error", n.shutdownErr)
		} else {
			n.logger.Info("node stopped")
		}
	})
	return n.shutdownErr
}

// stopHTTP shuts the HTTP server down and waits for its Serve goroutine.
func (n *Node) stopHTTP(ctx context.Context) error {
	err := n.httpSrv.Shutdown(ctx)
	if err != nil {
		// Idle keep-alive probes must not hold the process open past ctx.
		_ = n.httpSrv.Close()
	}
	<-n.httpDone
	if err != nil {
		return fmt.Errorf("shut down http server: %w", err)
	}
	if n.httpErr != nil {
		return fmt.Errorf("http server: %w", n.httpErr)
	}
	return nil
}
