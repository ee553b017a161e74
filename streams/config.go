package streams

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Config configures an App.
type Config struct {
	// ApplicationID names the consumer group and prefixes internal topics
	// and transactional ids. Required.
	ApplicationID string
	// Brokers are seed broker addresses. Required.
	Brokers []string
	// InstanceID identifies this instance across restarts; the
	// transactional id is "<ApplicationID>-<InstanceID>", so a restarted
	// instance fences its previous incarnation. Default: a random id.
	InstanceID string
	// AtLeastOnce turns exactly-once off: changelog and output writes are
	// flushed before offsets are committed, so a crash may repeat work.
	// Default false (exactly-once).
	AtLeastOnce bool
	// CommitInterval is how long one transaction (or offset commit cycle)
	// collects work. Default 100ms.
	CommitInterval time.Duration
	// StateDir holds on-disk stores ("<StateDir>/<task>/<store>"). Empty
	// (the default) keeps stores in memory.
	StateDir string
	// Clock drives wall-clock punctuation. Default: the system clock.
	Clock Clock
	// Logger gets runtime events. Default: discard.
	Logger *slog.Logger
	// SessionTimeout is the group session timeout. Default 10s.
	SessionTimeout time.Duration
	// TransactionTimeout bounds how long an abandoned transaction blocks
	// readers before the broker aborts it. Default 20s.
	TransactionTimeout time.Duration
	// MaxPollRecords bounds one poll. Default 2000.
	MaxPollRecords int
	// ReplicationFactor of the internal topics the App creates. Default -1
	// (the broker's default).
	ReplicationFactor int16
	// RepartitionPartitions is the partition count of repartition topics.
	// Default: the largest partition count of the source topics.
	RepartitionPartitions int32
	// ClientOpts are appended to the kgo options of every client the App
	// makes (the processing client and restore consumers).
	ClientOpts []kgo.Opt
}

func (c *Config) ensureDefaults() {
	if c.CommitInterval <= 0 {
		c.CommitInterval = 100 * time.Millisecond
	}
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = 10 * time.Second
	}
	if c.TransactionTimeout <= 0 {
		c.TransactionTimeout = 20 * time.Second
	}
	if c.MaxPollRecords <= 0 {
		c.MaxPollRecords = 2000
	}
	if c.ReplicationFactor == 0 {
		c.ReplicationFactor = -1
	}
	if c.InstanceID == "" {
		c.InstanceID = fmt.Sprintf("%x", time.Now().UnixNano())
	}
}

// validate returns every problem at once.
func (c *Config) validate() error {
	var errs []error
	if c.ApplicationID == "" {
		errs = append(errs, errors.New("streams: Config.ApplicationID is required"))
	}
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("streams: Config.Brokers is required"))
	}
	if c.RepartitionPartitions < 0 {
		errs = append(errs, errors.New("streams: Config.RepartitionPartitions must not be negative"))
	}
	return errors.Join(errs...)
}
