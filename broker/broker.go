package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/tributary-io/tributary/broker/cluster"
	"github.com/tributary-io/tributary/broker/group"
	"github.com/tributary-io/tributary/broker/kafka"
	"github.com/tributary-io/tributary/broker/log"
	"github.com/tributary-io/tributary/broker/metrics"
	"github.com/tributary-io/tributary/broker/replication"
	"github.com/tributary-io/tributary/broker/txn"
)

// metadataDirName is the folder of the metadata store inside the data dir.
const metadataDirName = "__cluster_metadata"

// Broker is one running node.
type Broker struct {
	cfg Config

	mu    sync.Mutex
	state brokerState
	logs  *log.Manager
	meta  metadataStore
	// raft is the metadata driver on a cluster (Config.Cluster), else nil.
	raft *cluster.Raft
	// coords moves coordinators with their partitions' leadership (cluster_mode.go).
	coords  *coordMover
	parts   *replication.Manager
	srv     *kafka.Server
	groups  *group.Coordinator
	txns    *txn.Coordinator
	addrs   []net.Addr
	serveWG sync.WaitGroup // one Serve goroutine per listener

	// metrics are the request-path instruments on cfg.Metrics (metrics.go).
	metrics *metrics.Metrics
	// ready tracks Start's progress for Readiness (readiness.go).
	ready readiness

	// groupsLoadedAt are the __consumer_offsets partitions this node led, by
	// leader epoch, when the group coordinator loaded them (groups.go).
	groupsLoadedAt map[int32]int32
	// txnsLoadedAt is the same for __transaction_state and the transaction
	// coordinator (txns.go).
	txnsLoadedAt map[int32]int32
}

type brokerState int

const (
	stateNew brokerState = iota
	stateRunning
	stateStopped
)

// New validates cfg (after EnsureDefaults) and prepares a broker; it does not listen yet.
func New(cfg Config) (*Broker, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("broker config: %w", err)
	}
	return &Broker{cfg: cfg}, nil
}

// Start recovers logs, loads metadata and starts listening. It returns once the
// broker accepts connections; ctx bounds start-up only. On failure everything
// opened so far is closed again.
func (b *Broker) Start(ctx context.Context) (err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state != stateNew {
		return errors.New("broker: Start called twice or after Shutdown")
	}
	b.state = stateRunning
	defer func() {
		if err != nil {
			b.closeStores()
			b.state = stateStopped
		}
	}()

	cfg := b.cfg
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	clusterID, err := loadOrCreateMetaProperties(filepath.Join(cfg.DataDir, metaPropertiesName), cfg.ClusterID, cfg.NodeID)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("broker start: %w", err)
	}

	// Logs are recovered before the metadata opens them, so the first
	// reconciliation finds every folder on disk.
	b.logs, err = log.NewManager(cfg.DataDir, log.WithClock(cfg.Now), log.WithLogger(cfg.Logger.With("scope", "log")))
	if err != nil {
		return fmt.Errorf("open logs in %s: %w", cfg.DataDir, err)
	}
	b.ready.logs.Store(true)
	b.meta, err = b.openMetadata(clusterID)
	if err != nil {
		return fmt.Errorf("open metadata: %w", err)
	}
	var dialer *replication.PeerDialer
	if cfg.Cluster != nil {
		if dialer, err = cfg.Security.peerDialer(cfg.Listeners, cfg.Logger.With("scope", "replication"), cfg.Now); err != nil {
			return err
		}
	}
	b.parts = replication.NewManager(b.logs, b.replicationConfig(replication.Config{
		NodeID:        cfg.NodeID,
		LogDefaults:   cfg.LogDefaults,
		Logger:        cfg.Logger.With("scope", "replication"),
		ProducerState: b.producerStateOpener(),
		Dialer:        dialer,
	}))
	if b.raft == nil {
		// On a cluster the partitions follow the metadata only once this node
		// has caught up with the controller (registerSelf): an early, partial
		// view would set every partition folder aside as unknown.
		b.parts.Subscribe(b.meta)
	}
	b.ready.metadata.Store(true)
	b.logs.Start(cfg.CleanerInterval)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("broker start: %w", err)
	}

	lns, err := listenAll(ctx, cfg.Listeners)
	if err != nil {
		return err
	}
	adv, err := advertised(cfg, lns)
	if err != nil {
		closeListeners(lns)
		return err
	}
	self := adv[0]
	if cfg.Cluster != nil {
		// Peers dial this node's inter-broker listener by name.
		if self, err = b.interBrokerSelf(adv); err != nil {
			closeListeners(lns)
			return err
		}
	}
	// Register before serving: auto-created topics place replicas on registered brokers.
	if err := b.registerSelf(ctx, self); err != nil {
		closeListeners(lns)
		return fmt.Errorf("register broker %d at %s:%d: %w", adv[0].ID, adv[0].Host, adv[0].Port, err)
	}

	if b.metrics, err = metrics.New(cfg.Metrics); err != nil {
		closeListeners(lns)
		return err
	}
	b.srv = kafka.NewServer(kafka.Config{
		NodeID:                   cfg.NodeID,
		MaxRequestBytes:          cfg.SocketRequestMaxBytes,
		IdleTimeout:              cfg.ConnectionsMaxIdle,
		AutoCreateTopics:         *cfg.AutoCreateTopics,
		NumPartitions:            cfg.NumPartitions,
		DefaultReplicationFactor: cfg.DefaultReplicationFactor,
		LogDefaults:              cfg.LogDefaults,
		DataDir:                  cfg.DataDir,
		Logger:                   cfg.Logger.With("scope", "kafka"),
		Now:                      cfg.Now,
		Metrics:                  b.metrics,
		Security:                 cfg.Security.kafkaSecurity(),
	}, b.meta, b.parts, b.logs)
	if err := b.startGroups(ctx); err != nil {
		closeListeners(lns)
		return err
	}
	b.srv.SetGroups(b.groups)
	b.ready.groups.Store(true)
	if err := b.startTxns(ctx); err != nil {
		closeListeners(lns)
		return err
	}
	b.srv.SetTxns(b.txns)
	b.ready.txns.Store(true)
	if b.raft != nil {
		b.followCoordinators()
	}
	if err := b.registerCollectors(); err != nil {
		closeListeners(lns)
		return err
	}
	secured, err := b.securedListeners(adv)
	if err != nil {
		closeListeners(lns)
		return err
	}
	for i, ln := range lns {
		b.addrs = append(b.addrs, ln.Addr())
		b.serveWG.Add(1)
		go func(ln net.Listener, l kafka.Listener) {
			defer b.serveWG.Done()
			if err := b.srv.ServeListener(ln, l); err != nil {
				cfg.Logger.Error("kafka listener stopped", "addr", ln.Addr().String(), "err", err)
			}
		}(ln, secured[i])
	}
	b.ready.listening.Store(true)
	cfg.Logger.Info("broker started", "node_id", cfg.NodeID, "cluster_id", clusterID, "data_dir", cfg.DataDir,
		"listeners", fmt.Sprint(b.addrs), "advertised", net.JoinHostPort(adv[0].Host, strconv.Itoa(int(adv[0].Port))))
	return nil
}

// Addrs returns the bound listener addresses (useful with port 0 in tests).
func (b *Broker) Addrs() []net.Addr {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]net.Addr(nil), b.addrs...)
}

// Shutdown stops accepting, lets in-flight requests finish until ctx is done
// (long polls answer at once), then closes the connections, stops reconciling,
// and flushes and closes the metadata and every log. It waits for every goroutine
// the broker started. Calling it again, or before Start, does nothing.
func (b *Broker) Shutdown(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state != stateRunning {
		b.state = stateStopped
		return nil
	}
	b.state = stateStopped
	var errs []error
	if b.srv != nil {
		// New connections are refused (clients retry a refused dial on
		// another broker); the open ones are served until the end.
		b.srv.StopAccepting()
	}
	if b.raft != nil {
		// Controlled shutdown: leaderships move to other in-sync replicas while
		// this node still serves, so clients re-route without losing anything.
		cs := b.cfg.Cluster.ControlledShutdownTimeout
		if dl, ok := ctx.Deadline(); ok {
			cs = min(cs, time.Until(dl)/2)
		}
		if err := b.raft.ControlledShutdown(cs); err != nil {
			b.cfg.Logger.Warn("controlled shutdown incomplete", "err", err)
		}
	}
	b.ready.listening.Store(false)
	if b.srv != nil {
		if err := b.srv.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	b.serveWG.Wait()
	if err := b.closeStores(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("broker shutdown: %w", err)
	}
	b.cfg.Logger.Info("broker stopped", "node_id", b.cfg.NodeID)
	return nil
}

// closeStores closes what Start opened, in reverse order.
func (b *Broker) closeStores() error {
	b.ready.clear()
	if b.metrics != nil {
		b.metrics.Unregister()
	}
	var errs []error
	b.stopCoordMover()
	if b.txns != nil {
		b.txns.Stop() // before the groups: it writes markers through them
	}
	if b.groups != nil {
		b.groups.Stop()
	}
	if b.parts != nil {
		if err := b.parts.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close partitions: %w", err))
		}
	}
	if b.meta != nil {
		if err := b.meta.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close metadata: %w", err))
		}
	}
	if b.logs != nil {
		if err := b.logs.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close logs: %w", err))
		}
	}
	return errors.Join(errs...)
}

// listenAll binds every listener, or none.
func listenAll(ctx context.Context, listeners []string) ([]net.Listener, error) {
	var lc net.ListenConfig
	lns := make([]net.Listener, 0, len(listeners))
	for _, l := range listeners {
		ln, err := lc.Listen(ctx, "tcp", StripScheme(l))
		if err != nil {
			closeListeners(lns)
			return nil, fmt.Errorf("listen on %s: %w", l, err)
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

func closeListeners(lns []net.Listener) {
	for _, ln := range lns {
		ln.Close()
	}
}

// advertised returns what Metadata tells clients for each listener: the configured
// advertised listener, else the listener itself with the bound port (for port 0)
// and, for a wildcard host, the machine's host name.
func advertised(cfg Config, lns []net.Listener) ([]cluster.Broker, error) {
	out := make([]cluster.Broker, len(lns))
	for i, ln := range lns {
		bound := ln.Addr().(*net.TCPAddr)
		spec := cfg.Listeners[i]
		if len(cfg.AdvertisedListeners) > i {
			spec = cfg.AdvertisedListeners[i]
		}
		host, portStr, err := net.SplitHostPort(StripScheme(spec))
		if err != nil {
			return nil, fmt.Errorf("advertised listener %q: %w", spec, err)
		}
		port, err := strconv.Atoi(portStr)
		if err != nil || port < 0 || port > 65535 {
			return nil, fmt.Errorf("advertised listener %q: bad port", spec)
		}
		if port == 0 {
			port = bound.Port
		}
		if host == "" || net.ParseIP(host).IsUnspecified() {
			// Clients cannot connect to 0.0.0.0; name this machine instead.
			// Set advertised listeners when clients reach it by another name.
			if host, err = os.Hostname(); err != nil || host == "" {
				host = "localhost"
			}
		}
		out[i] = cluster.Broker{ID: cfg.NodeID, Host: host, Port: int32(port)}
	}
	return out, nil
}
