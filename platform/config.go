package platform

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/tributary-io/tributary/broker"
	"github.com/tributary-io/tributary/broker/group"
	"github.com/tributary-io/tributary/broker/log"
)

// Config is a node's configuration as an operator writes it. YAML keys are
// the `yaml` tags; each key can also be set by the environment variable
// TRIBUTARY_<KEY in upper case> and by the flag --<key with dashes> (see
// Load). Defaults are written on each field and applied by EnsureDefaults.
type Config struct {
	// NodeID is this node's broker id (node.id). Default 1.
	NodeID int32 `yaml:"node_id"`
	// DataDir holds the partition logs and metadata. Default "./data".
	DataDir string `yaml:"data_dir"`
	// Listeners are the addresses to accept Kafka clients on, "host:port" or
	// "PLAINTEXT://host:port". Default ["localhost:9092"].
	Listeners []string `yaml:"listeners"`
	// AdvertisedListeners are the addresses Metadata tells clients, one per
	// listener. Default: the listeners themselves.
	AdvertisedListeners []string `yaml:"advertised_listeners"`
	// HTTPAddr is the address of the HTTP server (/healthz, /readyz, /metrics,
	// /admin/log-level). Default ":8080".
	HTTPAddr string `yaml:"http_addr"`
	// LogLevel is the lowest level logged: debug, info, warn or error. Default "info".
	LogLevel string `yaml:"log_level"`
	// LogFormat is how log lines are written: text or json. Default "text".
	LogFormat string `yaml:"log_format"`
	// AutoCreateTopics is auto.create.topics.enable: a produce or metadata
	// request for an unknown topic creates it. Default true (nil means true).
	AutoCreateTopics *bool `yaml:"auto_create_topics"`
	// NumPartitions is num.partitions, the partition count of auto-created
	// topics. Default 1.
	NumPartitions int32 `yaml:"num_partitions"`
	// DefaultReplicationFactor is default.replication.factor. Default 1.
	DefaultReplicationFactor int16 `yaml:"default_replication_factor"`
	// ShutdownTimeout bounds a graceful shutdown: in-flight requests get this
	// long to finish before connections are closed. Default 30s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// TopicDefaults are broker-wide defaults for topic configs, by their Kafka
	// names (for example "retention.ms": "604800000"). A topic's own configs
	// override them. Default: none, so Kafka's defaults apply.
	TopicDefaults map[string]string `yaml:"topic_defaults"`
	// Groups configures the consumer group coordinator.
	Groups GroupsConfig `yaml:"groups"`
	// Transactions configures the transaction coordinator and producer state (config_txn.go).
	Transactions TransactionsSection `yaml:"transactions"`
	// Cluster makes the node a member of a replicated cluster (config_cluster.go).
	Cluster ClusterSection `yaml:"cluster"`
	// Security configures TLS, SASL, ACLs and HTTP authentication (config_security.go).
	Security SecuritySection `yaml:"security"`
	// Worker configures the connector and pipeline worker (config_worker.go).
	Worker WorkerSection `yaml:"worker"`
}

// GroupsConfig is the `groups:` section: the group coordinator's settings
// that operators tune, by their Kafka names in each field's doc.
type GroupsConfig struct {
	// InitialRebalanceDelay is group.initial.rebalance.delay.ms: how long the
	// first rebalance of an empty group waits for more members to join, so a
	// starting consumer fleet gets one rebalance instead of many. 0s turns
	// the delay off. Default 3s (nil means the default).
	InitialRebalanceDelay *time.Duration `yaml:"initial_rebalance_delay"`
	// MinSessionTimeout is group.min.session.timeout.ms: the shortest session
	// timeout a consumer may ask for. Default 6s.
	MinSessionTimeout time.Duration `yaml:"min_session_timeout"`
	// MaxSessionTimeout is group.max.session.timeout.ms: the longest session
	// timeout a consumer may ask for. Default 30m.
	MaxSessionTimeout time.Duration `yaml:"max_session_timeout"`
	// OffsetsRetention is offsets.retention.minutes: committed offsets of a
	// group with no members are deleted this long after the group emptied (or
	// after the commit, for groups that never had members). Default 168h (7 days).
	OffsetsRetention time.Duration `yaml:"offsets_retention"`
}

// Defaults that EnsureDefaults applies; kept as constants so flag help and
// docs cannot drift from the code.
const (
	DefaultNodeID          = 1
	DefaultDataDir         = "./data"
	DefaultListener        = "localhost:9092"
	DefaultHTTPAddr        = ":8080"
	DefaultLogLevel        = "info"
	DefaultLogFormat       = "text"
	DefaultShutdownTimeout = 30 * time.Second

	DefaultInitialRebalanceDelay = 3 * time.Second
	DefaultMinSessionTimeout     = 6 * time.Second
	DefaultMaxSessionTimeout     = 30 * time.Minute
	DefaultOffsetsRetention      = 7 * 24 * time.Hour
)

// EnsureDefaults fills every unset field with its documented default.
func (c *Config) EnsureDefaults() {
	if c.NodeID == 0 {
		c.NodeID = DefaultNodeID
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if len(c.Listeners) == 0 {
		c.Listeners = []string{DefaultListener}
	}
	if c.HTTPAddr == "" {
		c.HTTPAddr = DefaultHTTPAddr
	}
	if c.LogLevel == "" {
		c.LogLevel = DefaultLogLevel
	}
	if c.LogFormat == "" {
		c.LogFormat = DefaultLogFormat
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
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	c.Groups.ensureDefaults()
}

func (g *GroupsConfig) ensureDefaults() {
	if g.InitialRebalanceDelay == nil {
		d := DefaultInitialRebalanceDelay
		g.InitialRebalanceDelay = &d
	}
	if g.MinSessionTimeout == 0 {
		g.MinSessionTimeout = DefaultMinSessionTimeout
	}
	if g.MaxSessionTimeout == 0 {
		g.MaxSessionTimeout = DefaultMaxSessionTimeout
	}
	if g.OffsetsRetention == 0 {
		g.OffsetsRetention = DefaultOffsetsRetention
	}
}

// problems lists what is wrong with g, each naming its YAML key.
func (g GroupsConfig) problems() []error {
	var errs []error
	if g.InitialRebalanceDelay != nil && *g.InitialRebalanceDelay < 0 {
		errs = append(errs, fmt.Errorf("groups.initial_rebalance_delay=%s: must not be negative (0s turns the delay off)", *g.InitialRebalanceDelay))
	}
	if g.MinSessionTimeout < 0 {
		errs = append(errs, fmt.Errorf("groups.min_session_timeout=%s: must not be negative", g.MinSessionTimeout))
	}
	if g.MaxSessionTimeout < g.MinSessionTimeout {
		errs = append(errs, fmt.Errorf("groups.max_session_timeout=%s: below groups.min_session_timeout=%s",
			g.MaxSessionTimeout, g.MinSessionTimeout))
	}
	if g.OffsetsRetention < time.Minute {
		errs = append(errs, fmt.Errorf("groups.offsets_retention=%s: must be at least 1m", g.OffsetsRetention))
	}
	return errs
}

// brokerConfig maps g onto the group coordinator's config; the coordinator's
// other settings keep their defaults.
func (g GroupsConfig) brokerConfig() group.Config {
	delay := DefaultInitialRebalanceDelay
	if g.InitialRebalanceDelay != nil {
		delay = *g.InitialRebalanceDelay
	}
	if delay == 0 {
		delay = -1 // group.Config reads zero as "default" and a negative delay as none
	}
	return group.Config{
		InitialRebalanceDelay: delay,
		MinSessionTimeout:     g.MinSessionTimeout,
		MaxSessionTimeout:     g.MaxSessionTimeout,
		OffsetsRetention:      g.OffsetsRetention,
	}
}

// Validate returns every problem in c at once (joined), or nil. Call it after
// EnsureDefaults; each message names the YAML key at fault.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.NodeID < 0 {
		bad("node_id=%d: must not be negative", c.NodeID)
	}
	if strings.TrimSpace(c.DataDir) == "" {
		bad("data_dir: must not be empty")
	}
	for _, l := range c.Listeners {
		if err := checkAddr(broker.StripScheme(l)); err != nil {
			bad("listeners: %q: %v", l, err)
		}
	}
	if len(c.AdvertisedListeners) != 0 && len(c.AdvertisedListeners) != len(c.Listeners) {
		bad("advertised_listeners: %d given for %d listeners, want one per listener",
			len(c.AdvertisedListeners), len(c.Listeners))
	}
	for _, l := range c.AdvertisedListeners {
		if err := checkAddr(broker.StripScheme(l)); err != nil {
			bad("advertised_listeners: %q: %v", l, err)
		}
	}
	if err := checkAddr(c.HTTPAddr); err != nil {
		bad("http_addr: %q: %v", c.HTTPAddr, err)
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		bad("log_level: %v", err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("log_format: %q: must be text or json", c.LogFormat)
	}
	if c.NumPartitions < 1 {
		bad("num_partitions=%d: must be at least 1", c.NumPartitions)
	}
	if c.DefaultReplicationFactor < 1 {
		bad("default_replication_factor=%d: must be at least 1", c.DefaultReplicationFactor)
	}
	if c.ShutdownTimeout < 0 {
		bad("shutdown_timeout=%s: must not be negative", c.ShutdownTimeout)
	}
	errs = append(errs, c.Groups.problems()...)
	errs = append(errs, c.Transactions.problems()...)
	errs = append(errs, c.Cluster.problems()...)
	errs = append(errs, c.Security.problems()...)
	if _, err := log.ApplyOverrides(log.DefaultConfig(), c.TopicDefaults); err != nil {
		for _, e := range flatten(err) {
			bad("topic_defaults: %w", e)
		}
	}
	return errors.Join(errs...)
}

// flatten lists the leaves of a tree of joined errors, so each problem gets
// its own line and prefix.
func flatten(err error) []error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, flatten(e)...)
	}
	return out
}

// checkAddr accepts "host:port" with an empty or named host and a port in
// 0..65535 (0 lets the OS choose, which tests use).
func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("port %q: must be a number from 0 to 65535", port)
	}
	return nil
}

// BrokerConfig converts c (defaults applied, valid) into the broker's
// configuration, with the topic defaults applied over Kafka's.
func (c Config) BrokerConfig(logger *slog.Logger) (broker.Config, error) {
	logDefaults, err := log.ApplyOverrides(log.DefaultConfig(), c.TopicDefaults)
	if err != nil {
		return broker.Config{}, fmt.Errorf("topic_defaults: %w", err)
	}
	auto := true
	if c.AutoCreateTopics != nil {
		auto = *c.AutoCreateTopics
	}
	bc := broker.Config{
		NodeID:                   c.NodeID,
		DataDir:                  c.DataDir,
		Listeners:                append([]string(nil), c.Listeners...),
		AdvertisedListeners:      append([]string(nil), c.AdvertisedListeners...),
		AutoCreateTopics:         &auto,
		NumPartitions:            c.NumPartitions,
		DefaultReplicationFactor: c.DefaultReplicationFactor,
		LogDefaults:              logDefaults,
		Groups:                   c.Groups.brokerConfig(),
		Txn:                      c.Transactions.brokerConfig(),
		Cluster:                  c.Cluster.brokerConfig(),
		Security:                 c.Security.brokerConfig(),
		Logger:                   logger,
	}
	bc.EnsureDefaults()
	return bc, nil
}

// NewLogger returns the node's logger writing to w at c.LogLevel, as text or
// JSON by c.LogFormat. An unknown level falls back to info (Validate reports it).
func (c Config) NewLogger(w io.Writer) *slog.Logger {
	l, _ := c.NewLevelLogger(w)
	return l
}

// NewLevelLogger is NewLogger that also returns the level variable the
// logger filters by, starting at c.LogLevel; setting it changes the level at
// run time (pass it to New with WithLogLevel).
func (c Config) NewLevelLogger(w io.Writer) (*slog.Logger, *slog.LevelVar) {
	level, err := parseLevel(c.LogLevel)
	if err != nil {
		level = slog.LevelInfo
	}
	v := new(slog.LevelVar)
	v.Set(level)
	opts := &slog.HandlerOptions{Level: v}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), v
	}
	return slog.New(slog.NewTextHandler(w, opts)), v
}

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%q: must be debug, info, warn or error", s)
}
