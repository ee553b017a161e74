package broker

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tributary-io/tributary/broker/group"
	"github.com/tributary-io/tributary/broker/log"
	"github.com/tributary-io/tributary/broker/txn"
)

// Config is a broker node's configuration. Defaults are written on each field and
// applied by EnsureDefaults; Validate reports every problem at once.
type Config struct {
	// NodeID is node.id. Default 1.
	NodeID int32
	// DataDir holds partition logs and metadata. Default "./data".
	DataDir string
	// Listeners are the addresses to accept Kafka clients on, "host:port" or
	// "PLAINTEXT://host:port". Default ["localhost:9092"].
	Listeners []string
	// AdvertisedListeners are what Metadata tells clients, parallel to Listeners.
	// Default: the listeners, with the actually bound port when a listener used port 0.
	AdvertisedListeners []string
	// ClusterID is returned in Metadata and DescribeCluster. Default: generated on
	// first start and kept in DataDir/meta.properties.
	ClusterID string
	// AutoCreateTopics is auto.create.topics.enable. Default true (nil means true).
	AutoCreateTopics *bool
	// NumPartitions is num.partitions for auto-created topics and CreateTopics with -1. Default 1.
	NumPartitions int32
	// DefaultReplicationFactor is default.replication.factor. Default 1.
	DefaultReplicationFactor int16
	// SocketRequestMaxBytes is socket.request.max.bytes: the largest request frame. Default 100 MiB.
	SocketRequestMaxBytes int32
	// ConnectionsMaxIdle is connections.max.idle.ms: a client connection with no
	// request for this long is closed. Default 10 minutes.
	ConnectionsMaxIdle time.Duration
	// LogDefaults are the broker-wide defaults for topic configs (log.* in Kafka).
	// Default log.DefaultConfig().
	LogDefaults log.Config
	// CleanerInterval is how often retention, compaction and flush.ms run. Default 5s.
	CleanerInterval time.Duration
	// Groups configures the group coordinator (group.* and offsets.* settings);
	// each field's default is written on group.Config. Its clock and logger default
	// to the broker's.
	Groups group.Config
	// Txn configures the transaction coordinator and producer state
	// (transaction.* and producer.id.* settings); each field's default is
	// written on txn.Config. Its clock and logger default to the broker's.
	Txn txn.Config
	// Logger receives the broker's logs. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Metrics is where the broker registers its Prometheus collectors when it
	// starts (and unregisters them when it stops). Default: a fresh registry of
	// its own, never Prometheus's global default one. The node passes the
	// registry its /metrics endpoint serves.
	Metrics prometheus.Registerer
	// Security configures TLS, SASL and ACLs (security.go). Default: none.
	Security SecurityConfig
	// Cluster makes the node a member of a replicated cluster (raft metadata,
	// replicated partitions; cluster_mode.go). Default nil: a single node.
	Cluster *ClusterConfig
}

// EnsureDefaults fills unset fields with their defaults.
func (c *Config) EnsureDefaults() {
	if c.NodeID == 0 {
		c.NodeID = 1
	}
	if c.DataDir == "" {
		c.DataDir = "./data"
	}
	if len(c.Listeners) == 0 {
		c.Listeners = []string{"localhost:9092"}
	}
	if c.AutoCreateTopics == nil {
		t := true
		c.AutoCreateTopics = &t
	}
	if c.NumPartitions == 0 {
		c.NumPartitions = 1
	}
	if c.DefaultReplicationFactor == 0 {
		c.DefaultReplicationFactor = 1
	}
	if c.SocketRequestMaxBytes == 0 {
		c.SocketRequestMaxBytes = 100 << 20
	}
	if c.ConnectionsMaxIdle == 0 {
		c.ConnectionsMaxIdle = 10 * time.Minute
	}
	c.LogDefaults.EnsureDefaults()
	if c.CleanerInterval == 0 {
		c.CleanerInterval = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Metrics == nil {
		c.Metrics = prometheus.NewRegistry()
	}
	if c.Cluster != nil {
		cc := *c.Cluster
		cc.ensureDefaults()
		c.Cluster = &cc
	}
}

// Validate returns every problem at once, or nil. Call after EnsureDefaults.
func (c Config) Validate() error {
	var errs []error
	if c.NodeID < 0 {
		errs = append(errs, fmt.Errorf("node.id=%d: must not be negative", c.NodeID))
	}
	for _, l := range c.Listeners {
		if _, _, err := net.SplitHostPort(StripScheme(l)); err != nil {
			errs = append(errs, fmt.Errorf("listener %q: %v", l, err))
		}
	}
	if len(c.AdvertisedListeners) != 0 && len(c.AdvertisedListeners) != len(c.Listeners) {
		errs = append(errs, fmt.Errorf("advertised listeners: %d given for %d listeners", len(c.AdvertisedListeners), len(c.Listeners)))
	}
	for _, l := range c.AdvertisedListeners {
		if _, _, err := net.SplitHostPort(StripScheme(l)); err != nil {
			errs = append(errs, fmt.Errorf("advertised listener %q: %v", l, err))
		}
	}
	if c.NumPartitions < 1 {
		errs = append(errs, fmt.Errorf("num.partitions=%d: must be at least 1", c.NumPartitions))
	}
	if c.DefaultReplicationFactor < 1 {
		errs = append(errs, fmt.Errorf("default.replication.factor=%d: must be at least 1", c.DefaultReplicationFactor))
	}
	if c.ConnectionsMaxIdle < 0 {
		errs = append(errs, fmt.Errorf("connections.max.idle.ms=%v: must not be negative", c.ConnectionsMaxIdle))
	}
	if c.SocketRequestMaxBytes < 1024 {
		errs = append(errs, fmt.Errorf("socket.request.max.bytes=%d: must be at least 1024", c.SocketRequestMaxBytes))
	}
	if err := c.Security.validate(c.Listeners); err != nil {
		errs = append(errs, fmt.Errorf("security: %w", err))
	}
	if c.Cluster != nil {
		// Only cluster members dial peers (security_interbroker.go).
		for _, err := range c.Security.validateInterBroker(c.Listeners) {
			errs = append(errs, fmt.Errorf("security: %w", err))
		}
	}
	if err := c.LogDefaults.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("log defaults: %w", err))
	}
	return errors.Join(errs...)
}

// StripScheme turns "PLAINTEXT://host:port" into "host:port".
func StripScheme(listener string) string {
	if i := strings.Index(listener, "://"); i >= 0 {
		return listener[i+3:]
	}
	return listener
}
