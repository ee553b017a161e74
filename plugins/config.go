package plugins

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// DefaultDir is where plugin binaries are looked for when Config.Dir is empty.
const DefaultDir = "./bin/plugins"

// Config configures a Registry and every plugin it starts.
type Config struct {
	// Dir holds the plugin binaries. Default DefaultDir.
	Dir string
	// Logger receives the host's plugin events and the plugins' own log
	// lines, stdout and stderr. Default slog.Default().
	Logger *slog.Logger
	// MaxMessageBytes is the topic limit records must fit (Kafka's
	// max.message.bytes). Batches crossing the plugin boundary carry at most
	// this many payload bytes, and the gRPC message limit is raised above it.
	// Default 1048588, Kafka's default.
	MaxMessageBytes int
	// StartTimeout bounds starting a plugin process and its handshake.
	// Default 10s.
	StartTimeout time.Duration
	// CallTimeout bounds calls that do not wait for data (Open, Commit,
	// Flush, Close, Validate, Manifest). Default 30s.
	CallTimeout time.Duration
	// MaxWait is the longest a Read waits in the plugin for a first record
	// when the caller's context has no earlier deadline. Default 1s.
	MaxWait time.Duration
	// HeartbeatInterval is how often a running plugin is pinged; a plugin
	// that misses HeartbeatMisses pings in a row, each bounded by
	// HeartbeatTimeout, is killed and restarted. Defaults 2s, 2s, 3.
	HeartbeatInterval time.Duration
	HeartbeatTimeout  time.Duration
	HeartbeatMisses   int
	// Backoff gives the delay before restart attempt n (1-based) of a failed
	// plugin. Default ExponentialBackoff{Initial: 100ms, Max: 30s}.
	Backoff Backoff
	// StableAfter is how long a restarted plugin must keep working before
	// its backoff starts again from the first attempt. Default 30s.
	StableAfter time.Duration
	// Clock drives heartbeats and backoff. Default the system clock.
	Clock Clock
	// BatchLatency is the time one batch call should take; batch sizes grow
	// while calls are faster and shrink when slower. Default 50ms.
	BatchLatency time.Duration
	// MinBatch and MaxBatch bound the records per call. Defaults 16 and 8192.
	MinBatch, MaxBatch int
	// LogLevel is passed to plugins as their log level. Default info.
	LogLevel slog.Level
	// OnFailure, when set, is called with the plugin's name each time a
	// plugin process failed and was torn down (it crashed, missed its
	// heartbeats, a call failed, or it would not start): the instance's next
	// call, or the caller's next instance, starts it again. Metrics count
	// these as restarts. A call its caller cancelled is not counted. It
	// runs under the instance's lock and must not block.
	OnFailure func(plugin string)
}

// grpcOverhead is the room above MaxMessageBytes in the gRPC message limit,
// for protobuf framing and the one record that may exceed a batch's budget.
const grpcOverhead = 1 << 20

// EnsureDefaults fills every zero field with its default.
func (c *Config) EnsureDefaults() {
	if c.Dir == "" {
		c.Dir = DefaultDir
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = 1048588
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = 10 * time.Second
	}
	if c.CallTimeout == 0 {
		c.CallTimeout = 30 * time.Second
	}
	if c.MaxWait == 0 {
		c.MaxWait = time.Second
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = 2 * time.Second
	}
	if c.HeartbeatTimeout == 0 {
		c.HeartbeatTimeout = 2 * time.Second
	}
	if c.HeartbeatMisses == 0 {
		c.HeartbeatMisses = 3
	}
	if c.Backoff == nil {
		c.Backoff = ExponentialBackoff{Initial: 100 * time.Millisecond, Max: 30 * time.Second}
	}
	if c.StableAfter == 0 {
		c.StableAfter = 30 * time.Second
	}
	if c.Clock == nil {
		c.Clock = SystemClock{}
	}
	if c.BatchLatency == 0 {
		c.BatchLatency = 50 * time.Millisecond
	}
	if c.MinBatch == 0 {
		c.MinBatch = 16
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = 8192
	}
}

// Validate returns every problem of the configuration at once.
func (c *Config) Validate() error {
	var errs []error
	positive := []struct {
		name string
		v    time.Duration
	}{
		{"StartTimeout", c.StartTimeout}, {"CallTimeout", c.CallTimeout}, {"MaxWait", c.MaxWait},
		{"HeartbeatInterval", c.HeartbeatInterval}, {"HeartbeatTimeout", c.HeartbeatTimeout},
		{"StableAfter", c.StableAfter}, {"BatchLatency", c.BatchLatency},
	}
	for _, p := range positive {
		if p.v <= 0 {
			errs = append(errs, fmt.Errorf("%s = %v: must be positive", p.name, p.v))
		}
	}
	if c.MaxMessageBytes < 1024 || c.MaxMessageBytes > 1<<30 {
		errs = append(errs, fmt.Errorf("MaxMessageBytes = %d: must be between 1KiB and 1GiB", c.MaxMessageBytes))
	}
	if c.HeartbeatMisses < 1 {
		errs = append(errs, fmt.Errorf("HeartbeatMisses = %d: must be at least 1", c.HeartbeatMisses))
	}
	if c.MinBatch < 1 || c.MaxBatch < c.MinBatch {
		errs = append(errs, fmt.Errorf("MinBatch = %d, MaxBatch = %d: want 1 <= MinBatch <= MaxBatch", c.MinBatch, c.MaxBatch))
	}
	if c.Dir == "" {
		errs = append(errs, errors.New("Dir is empty"))
	}
	return errors.Join(errs...)
}
