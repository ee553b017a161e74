package txn

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// StateTopic is the compacted internal topic holding transaction state.
const StateTopic = "__transaction_state"

// Config configures a Coordinator. Defaults are written on each field and applied
// by EnsureDefaults; Validate reports every problem at once.
type Config struct {
	// Partitions is transaction.state.log.num.partitions: the partition count of
	// __transaction_state. Default 50.
	Partitions int32
	// MaxTimeout is transaction.max.timeout.ms: the largest transaction timeout a
	// producer may ask for. Default 15 minutes.
	MaxTimeout time.Duration
	// TransactionalIDExpiration is transactional.id.expiration.ms: a transactional
	// id with no transaction open that has not been used for this long is removed.
	// Default 7 days.
	TransactionalIDExpiration time.Duration
	// AbortTimedOutInterval is
	// transaction.abort.timed.out.transaction.cleanup.interval.ms: how often
	// open transactions are checked against their timeout (and markers that
	// failed are retried). Default 10s.
	AbortTimedOutInterval time.Duration
	// RemoveExpiredInterval is
	// transaction.remove.expired.transaction.cleanup.interval.ms: how often
	// expired transactional ids are removed. Default 1 hour.
	RemoveExpiredInterval time.Duration
	// ProducerIDBlock is how many producer ids one metadata command reserves.
	// Default 1000.
	ProducerIDBlock int64
	// State configures the producer state of partitions (producer.id.expiration.ms,
	// snapshots). Its clock and logger default to this config's.
	State StateConfig
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives the coordinator's logs. Default slog.Default().
	Logger *slog.Logger
}

// EnsureDefaults fills unset fields with their defaults.
func (c *Config) EnsureDefaults() {
	if c.Partitions == 0 {
		c.Partitions = 50
	}
	if c.MaxTimeout == 0 {
		c.MaxTimeout = 15 * time.Minute
	}
	if c.TransactionalIDExpiration == 0 {
		c.TransactionalIDExpiration = 7 * 24 * time.Hour
	}
	if c.AbortTimedOutInterval == 0 {
		c.AbortTimedOutInterval = 10 * time.Second
	}
	if c.RemoveExpiredInterval == 0 {
		c.RemoveExpiredInterval = time.Hour
	}
	if c.ProducerIDBlock == 0 {
		c.ProducerIDBlock = DefaultProducerIDBlock
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.State.Now == nil {
		c.State.Now = c.Now
	}
	if c.State.Logger == nil {
		c.State.Logger = c.Logger
	}
	c.State.EnsureDefaults()
}

// Validate returns every problem at once, or nil. Call after EnsureDefaults.
func (c Config) Validate() error {
	var errs []error
	bad := func(key string, v any, why string) {
		errs = append(errs, fmt.Errorf("%s=%v: %s", key, v, why))
	}
	if c.Partitions < 1 {
		bad("transaction.state.log.num.partitions", c.Partitions, "must be at least 1")
	}
	if c.MaxTimeout < time.Millisecond {
		bad("transaction.max.timeout.ms", c.MaxTimeout, "must be at least 1ms")
	}
	if c.TransactionalIDExpiration < time.Millisecond {
		bad("transactional.id.expiration.ms", c.TransactionalIDExpiration, "must be at least 1ms")
	}
	if c.AbortTimedOutInterval < time.Millisecond {
		bad("transaction.abort.timed.out.transaction.cleanup.interval.ms", c.AbortTimedOutInterval, "must be at least 1ms")
	}
	if c.RemoveExpiredInterval < time.Millisecond {
		bad("transaction.remove.expired.transaction.cleanup.interval.ms", c.RemoveExpiredInterval, "must be at least 1ms")
	}
	if c.ProducerIDBlock < 1 {
		bad("producer id block", c.ProducerIDBlock, "must be at least 1")
	}
	return errors.Join(errs...)
}

// PartitionFor returns the partition of __transaction_state that holds a
// transactional id: abs(Java String.hashCode(id)) % n, as Kafka computes it, so
// clients and other brokers agree on the coordinator.
func PartitionFor(id string, n int32) int32 {
	h := javaHash(id)
	switch {
	case h == -1<<31:
		h = 0 // Kafka's Utils.abs maps MIN_VALUE to 0
	case h < 0:
		h = -h
	}
	return h % n
}

// javaHash is Java's String.hashCode over the UTF-16 code units of s.
func javaHash(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 { // a surrogate pair in UTF-16
			r -= 0x10000
			h = 31*h + (0xD800 + (r >> 10))
			h = 31*h + (0xDC00 + (r & 0x3FF))
			continue
		}
		h = 31*h + r
	}
	return h
}
