package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tributary-io/tributary/broker/auth"
	"github.com/tributary-io/tributary/broker/group"
	"github.com/tributary-io/tributary/broker/log"
	"github.com/tributary-io/tributary/broker/metrics"
	"github.com/tributary-io/tributary/broker/replication"
	"github.com/tributary-io/tributary/broker/txn"
)

// Config configures the wire server. The broker fills it from broker.Config.
type Config struct {
	// NodeID is this node's id (node.id).
	NodeID int32
	// MaxRequestBytes is socket.request.max.bytes: a frame whose size prefix is
	// larger (or negative) closes the connection. Default 100 MiB.
	MaxRequestBytes int32
	// IdleTimeout is connections.max.idle.ms: a connection with no request for
	// this long is closed. Default 10 minutes.
	IdleTimeout time.Duration
	// AutoCreateTopics is auto.create.topics.enable. No default: the zero value
	// disables auto-creation, so the broker must pass its setting.
	AutoCreateTopics bool
	// NumPartitions is num.partitions for auto-created topics. Default 1.
	NumPartitions int32
	// DefaultReplicationFactor is default.replication.factor. Default 1.
	DefaultReplicationFactor int16
	// LogDefaults are the broker-wide topic config defaults. Default log.DefaultConfig().
	LogDefaults log.Config
	// DataDir is the broker's data dir (DescribeLogDirs reports it).
	DataDir string
	// Logger receives connection and request problems. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Metrics receives request latencies, per-topic traffic and purgatory
	// sizes. Default: instruments on a private registry that nobody scrapes.
	Metrics *metrics.Metrics
	// Security configures SASL and authorization (security.go). Default: no
	// authorizer, every SASL mechanism enabled for SASL listeners.
	Security Security
}

func (c *Config) ensureDefaults() {
	if c.MaxRequestBytes == 0 {
		c.MaxRequestBytes = 100 << 20
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 10 * time.Minute
	}
	if c.NumPartitions == 0 {
		c.NumPartitions = 1
	}
	if c.DefaultReplicationFactor == 0 {
		c.DefaultReplicationFactor = 1
	}
	if c.LogDefaults == (log.Config{}) {
		c.LogDefaults = log.DefaultConfig()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Metrics == nil {
		c.Metrics, _ = metrics.New(nil) // a fresh registry cannot hold duplicates
	}
}

// Server is the Kafka wire server of one node. Serve runs one accept loop per
// listener; each connection gets a reader goroutine (which decodes and handles its
// requests in order) and a writer goroutine (which sends the responses, so reading
// the next request overlaps with writing the last answer). Shutdown stops them all.
type Server struct {
	meta   MetadataStore
	parts  *replication.Manager
	logs   *log.Manager
	cfg    Config
	logger *slog.Logger
	// groups is the group coordinator (SetGroups); nil answers group APIs with
	// COORDINATOR_NOT_AVAILABLE.
	groups *group.Coordinator
	// txns is the transaction coordinator (SetTxns); nil answers the transaction
	// APIs with COORDINATOR_NOT_AVAILABLE.
	txns *txn.Coordinator
	// markers writes the markers other brokers' transaction coordinators send
	// (SetMarkerAppender, 27_write_txn_markers.go).
	markers MarkerAppender
	// ids hands out producer ids to idempotent producers (InitProducerId without
	// a transactional id), in blocks reserved in the metadata.
	ids *txn.IDManager

	// apiByKey indexes apis() by key; nil entries are unknown keys.
	apiByKey []*api
	// metrics are the server's instruments (metrics.go).
	metrics serverMetrics
	// sasl starts SASL exchanges (17_sasl_handshake.go); saslErr is why it
	// could not be built (a bad mechanism name), reported by ServeListener.
	sasl    *auth.Mechanisms
	saslErr error
	// authz is the authorization table (authz.go), by API key.
	authz map[int16]authzStep

	// closing is closed by Shutdown: accept loops stop and long polls return.
	closing chan struct{}

	mu       sync.Mutex
	shutdown bool
	// noAccept is set by StopAccepting: listeners are closed, connections
	// still served.
	noAccept  bool
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	// connWG counts connection goroutines (reader; each reader waits for its writer).
	connWG sync.WaitGroup

	connIDs atomic.Uint64
}

// NewServer returns a server answering from meta (cluster metadata), parts (the
// local partition replicas) and logs (the node's log manager).
func NewServer(cfg Config, meta MetadataStore, parts *replication.Manager, logs *log.Manager) *Server {
	cfg.ensureDefaults()
	s := &Server{
		meta:      meta,
		parts:     parts,
		logs:      logs,
		cfg:       cfg,
		logger:    cfg.Logger,
		closing:   make(chan struct{}),
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*conn]struct{}),
		ids:       txn.NewIDManager(meta, cfg.NodeID, txn.DefaultProducerIDBlock),
	}
	for _, a := range apis() {
		for int(a.Key) >= len(s.apiByKey) {
			s.apiByKey = append(s.apiByKey, nil)
		}
		s.apiByKey[a.Key] = &a
	}
	s.metrics = newServerMetrics(cfg.Metrics, s.apiByKey)
	s.saslErr = s.initSecurity()
	return s
}

// lookup returns the served API for key, or nil.
func (s *Server) lookup(key int16) *api {
	if key < 0 || int(key) >= len(s.apiByKey) {
		return nil
	}
	return s.apiByKey[key]
}

// Serve accepts connections on ln until Shutdown (then it returns nil) or until
// ln fails for good (then it returns the error). It closes ln before returning.
func (s *Server) Serve(ln net.Listener) error {
	return s.serve(ln, nil)
}

// serve is Serve with the listener's security (nil: plaintext).
func (s *Server) serve(ln net.Listener, l *Listener) error {
	s.mu.Lock()
	if s.shutdown || s.noAccept {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		ln.Close()
	}()

	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.stoppedAccepting() {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("accept on %s: %w", ln.Addr(), err)
			}
			// Out of file descriptors and the like: wait and try again rather than
			// spinning or giving up on the listener.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.logger.Warn("accept failed; retrying", "listener", ln.Addr().String(), "err", err, "backoff", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-s.closing:
				t.Stop()
				return nil
			}
			continue
		}
		backoff = 0
		s.startConn(nc, ln.Addr().String(), l)
	}
}

func (s *Server) startConn(nc net.Conn, listener string, l *Listener) {
	c := newConn(s, nc, ConnInfo{
		ID:         s.connIDs.Add(1),
		RemoteAddr: nc.RemoteAddr().String(),
		Listener:   listener,
		sec:        s.newConnSecurity(l, nc.RemoteAddr().String()),
	})
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		nc.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.connWG.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.connWG.Done()
		c.serve()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
}

// StopAccepting closes the listeners; the connections already open go on
// being served until Shutdown. It is the first step of a graceful stop:
// while leaderships move away, a client that needs this broker on a new
// connection has its dial refused, which clients retry elsewhere, rather
// than having its first request on a fresh connection cut off unanswered by
// Shutdown, an EOF franz-go takes for missing SASL and does not retry.
// Safe to call more than once.
func (s *Server) StopAccepting() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noAccept = true
	for ln := range s.listeners {
		ln.Close()
	}
}

// stoppedAccepting reports whether StopAccepting or Shutdown was called.
func (s *Server) stoppedAccepting() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shutdown || s.noAccept
}

// Shutdown stops accepting, wakes long polls, lets each connection finish the
// request it is handling and send its answers, then closes it. When ctx ends
// first, the remaining connections are closed at once. It returns after every
// connection goroutine has exited. Safe to call more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.shutdown {
		s.shutdown = true
		close(s.closing)
	}
	for ln := range s.listeners {
		ln.Close()
	}
	for c := range s.conns {
		c.stopReading()
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.connWG.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.nc.Close()
		}
		s.mu.Unlock()
		<-done
		return fmt.Errorf("kafka server shutdown: connections closed forcibly: %w", ctx.Err())
	}
}

// NumConns is the number of open client connections.
func (s *Server) NumConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}
