package group

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// OffsetsTopic is the internal compacted topic holding offsets and group metadata.
const OffsetsTopic = "__consumer_offsets"

// Config configures a Coordinator. Defaults are written on each field and applied
// by EnsureDefaults; Validate reports every problem at once.
type Config struct {
	// Partitions is offsets.topic.num.partitions: the partition count of
	// __consumer_offsets. Default 50.
	Partitions int32
	// MinSessionTimeout is group.min.session.timeout.ms. Default 6s.
	MinSessionTimeout time.Duration
	// MaxSessionTimeout is group.max.session.timeout.ms. Default 30m.
	MaxSessionTimeout time.Duration
	// InitialRebalanceDelay is group.initial.rebalance.delay.ms. Default 3s when
	// zero; a negative value means no delay.
	InitialRebalanceDelay time.Duration
	// MaxGroupSize is group.max.size. Default 0: unlimited.
	MaxGroupSize int
	// OffsetsRetention is offsets.retention.minutes. Default 7 days.
	OffsetsRetention time.Duration
	// RetentionCheckInterval is offsets.retention.check.interval.ms. Default 10m.
	RetentionCheckInterval time.Duration
	// MaxMetadataSize is offset.metadata.max.bytes. Default 4096.
	MaxMetadataSize int
	// TickInterval is how often session, rebalance and delay deadlines are checked.
	// Default 100ms.
	TickInterval time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives the coordinator's logs. Default slog.Default().
	Logger *slog.Logger
	// NewMemberID makes member ids. Default: prefix + "-" + a random UUID, as Kafka.
	NewMemberID func(prefix string) string
}

// EnsureDefaults fills unset fields with their defaults.
func (c *Config) EnsureDefaults() {
	if c.Partitions == 0 {
		c.Partitions = 50
	}
	if c.MinSessionTimeout == 0 {
		c.MinSessionTimeout = 6 * time.Second
	}
	if c.MaxSessionTimeout == 0 {
		c.MaxSessionTimeout = 30 * time.Minute
	}
	if c.InitialRebalanceDelay == 0 {
		c.InitialRebalanceDelay = 3 * time.Second
	}
	if c.OffsetsRetention == 0 {
		c.OffsetsRetention = 7 * 24 * time.Hour
	}
	if c.RetentionCheckInterval == 0 {
		c.RetentionCheckInterval = 10 * time.Minute
	}
	if c.MaxMetadataSize == 0 {
		c.MaxMetadataSize = 4096
	}
	if c.TickInterval == 0 {
		c.TickInterval = 100 * time.Millisecond
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.NewMemberID == nil {
		c.NewMemberID = randomMemberID
	}
}

// Validate returns every problem at once, or nil. Call after EnsureDefaults.
func (c Config) Validate() error {
	var errs []error
	if c.Partitions < 1 {
		errs = append(errs, fmt.Errorf("offsets.topic.num.partitions=%d: must be at least 1", c.Partitions))
	}
	if c.MinSessionTimeout < 0 {
		errs = append(errs, fmt.Errorf("group.min.session.timeout.ms=%d: must not be negative", c.MinSessionTimeout.Milliseconds()))
	}
	if c.MaxSessionTimeout < c.MinSessionTimeout {
		errs = append(errs, fmt.Errorf("group.max.session.timeout.ms=%d: below group.min.session.timeout.ms=%d",
			c.MaxSessionTimeout.Milliseconds(), c.MinSessionTimeout.Milliseconds()))
	}
	if c.MaxGroupSize < 0 {
		errs = append(errs, fmt.Errorf("group.max.size=%d: must not be negative", c.MaxGroupSize))
	}
	if c.OffsetsRetention < time.Minute {
		errs = append(errs, fmt.Errorf("offsets.retention.minutes=%v: must be at least 1 minute", c.OffsetsRetention))
	}
	if c.RetentionCheckInterval <= 0 {
		errs = append(errs, fmt.Errorf("offsets.retention.check.interval.ms=%d: must be positive", c.RetentionCheckInterval.Milliseconds()))
	}
	if c.MaxMetadataSize < 0 {
		errs = append(errs, fmt.Errorf("offset.metadata.max.bytes=%d: must not be negative", c.MaxMetadataSize))
	}
	if c.TickInterval <= 0 {
		errs = append(errs, fmt.Errorf("tick interval %v: must be positive", c.TickInterval))
	}
	return errors.Join(errs...)
}

// settings derives the state machine's limits.
func (c Config) settings() Settings {
	return Settings{
		MinSessionTimeout:     c.MinSessionTimeout,
		MaxSessionTimeout:     c.MaxSessionTimeout,
		InitialRebalanceDelay: max(c.InitialRebalanceDelay, 0),
		MaxSize:               c.MaxGroupSize,
		NewMemberID:           c.NewMemberID,
	}
}

// randomMemberID returns prefix-<uuid v4>, Kafka's member id shape.
func randomMemberID(prefix string) string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails (Go 1.24+)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%s-%x-%x-%x-%x-%x", prefix, u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// PartitionFor returns the __consumer_offsets partition of a group (or any
// coordinator key) as Kafka computes it: abs(Java String.hashCode(key)) % n,
// with abs(MinInt32) = 0.
func PartitionFor(key string, n int32) int32 {
	h := javaStringHash(key)
	if h == -1<<31 {
		h = 0
	} else if h < 0 {
		h = -h
	}
	return h % n
}

// javaStringHash is Java's String.hashCode over the UTF-16 code units of s.
func javaStringHash(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			h = 31*h + int32(0xD800+(r>>10))
			h = 31*h + int32(0xDC00+(r&0x3FF))
			continue
		}
		h = 31*h + int32(r)
	}
	return h
}
