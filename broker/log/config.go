package log

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Cleanup policies (cleanup.policy).
const (
	CleanupDelete  = "delete"
	CleanupCompact = "compact"
)

// Config is the per-partition log configuration: Kafka's topic-level log configs.
// The zero value of a field means "use the default" only through EnsureDefaults;
// use DefaultConfig for a ready value.
type Config struct {
	// SegmentBytes is segment.bytes: roll to a new segment past this size. Default 1 GiB.
	SegmentBytes int64
	// SegmentMs is segment.ms: roll a segment this old even if not full. Default 7 days.
	SegmentMs int64
	// IndexIntervalBytes is index.interval.bytes: bytes between offset-index entries. Default 4096.
	IndexIntervalBytes int64
	// RetentionMs is retention.ms: delete segments whose newest record is older. Default 7 days; -1 keeps forever.
	RetentionMs int64
	// RetentionBytes is retention.bytes: delete oldest segments while the log is larger. Default -1 (no limit).
	RetentionBytes int64
	// CleanupPolicy is cleanup.policy: "delete", "compact" or "compact,delete". Default "delete".
	CleanupPolicy string
	// DeleteRetentionMs is delete.retention.ms: how long tombstones survive compaction. Default 1 day.
	DeleteRetentionMs int64
	// MinCompactionLagMs is min.compaction.lag.ms: records younger than this are not compacted. Default 0.
	MinCompactionLagMs int64
	// MinCleanableDirtyRatio is min.cleanable.dirty.ratio: compact once this share of the log is dirty. Default 0.5.
	MinCleanableDirtyRatio float64
	// FlushMessages is flush.messages: fsync after this many records. Default MaxInt64 (leave it to the OS).
	FlushMessages int64
	// FlushMs is flush.ms: fsync at least this often. Default MaxInt64.
	FlushMs int64
	// MaxMessageBytes is max.message.bytes: the largest batch accepted. Default 1048588.
	MaxMessageBytes int64
	// MessageTimestampType is message.timestamp.type: "CreateTime" or "LogAppendTime". Default "CreateTime".
	MessageTimestampType string
}

// DefaultConfig returns Kafka's defaults.
func DefaultConfig() Config {
	var c Config
	c.EnsureDefaults()
	return c
}

// EnsureDefaults fills zero fields with their documented defaults.
func (c *Config) EnsureDefaults() {
	if c.SegmentBytes == 0 {
		c.SegmentBytes = 1 << 30
	}
	if c.SegmentMs == 0 {
		c.SegmentMs = 7 * 24 * 3600 * 1000
	}
	if c.IndexIntervalBytes == 0 {
		c.IndexIntervalBytes = 4096
	}
	if c.RetentionMs == 0 {
		c.RetentionMs = 7 * 24 * 3600 * 1000
	}
	if c.RetentionBytes == 0 {
		c.RetentionBytes = -1
	}
	if c.CleanupPolicy == "" {
		c.CleanupPolicy = CleanupDelete
	}
	if c.DeleteRetentionMs == 0 {
		c.DeleteRetentionMs = 24 * 3600 * 1000
	}
	if c.MinCleanableDirtyRatio == 0 {
		c.MinCleanableDirtyRatio = 0.5
	}
	if c.FlushMessages == 0 {
		c.FlushMessages = math.MaxInt64
	}
	if c.FlushMs == 0 {
		c.FlushMs = math.MaxInt64
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = 1048588
	}
	if c.MessageTimestampType == "" {
		c.MessageTimestampType = "CreateTime"
	}
}

// Validate returns every problem at once, joined, or nil.
func (c Config) Validate() error {
	var errs []error
	bad := func(key string, v any, why string) {
		errs = append(errs, fmt.Errorf("%s=%v: %s", key, v, why))
	}
	if c.SegmentBytes < 14 {
		bad("segment.bytes", c.SegmentBytes, "must be at least 14")
	}
	if c.SegmentBytes > math.MaxInt32 {
		// Kafka's segment.bytes is an int; index positions are 32-bit.
		bad("segment.bytes", c.SegmentBytes, "must be at most 2147483647")
	}
	if c.SegmentMs < 1 {
		bad("segment.ms", c.SegmentMs, "must be at least 1")
	}
	if c.IndexIntervalBytes < 0 {
		bad("index.interval.bytes", c.IndexIntervalBytes, "must not be negative")
	}
	if c.RetentionMs < -1 {
		bad("retention.ms", c.RetentionMs, "must be -1 or more")
	}
	if c.RetentionBytes < -1 {
		bad("retention.bytes", c.RetentionBytes, "must be -1 or more")
	}
	if !c.Compact() && !c.Delete() {
		bad("cleanup.policy", c.CleanupPolicy, `must be "delete", "compact" or "compact,delete"`)
	}
	if c.DeleteRetentionMs < 0 {
		bad("delete.retention.ms", c.DeleteRetentionMs, "must not be negative")
	}
	if c.MinCompactionLagMs < 0 {
		bad("min.compaction.lag.ms", c.MinCompactionLagMs, "must not be negative")
	}
	if c.MinCleanableDirtyRatio < 0 || c.MinCleanableDirtyRatio > 1 {
		bad("min.cleanable.dirty.ratio", c.MinCleanableDirtyRatio, "must be between 0 and 1")
	}
	if c.FlushMessages < 1 {
		bad("flush.messages", c.FlushMessages, "must be at least 1")
	}
	if c.FlushMs < 0 {
		bad("flush.ms", c.FlushMs, "must not be negative")
	}
	if c.MaxMessageBytes < 0 {
		bad("max.message.bytes", c.MaxMessageBytes, "must not be negative")
	}
	if c.MessageTimestampType != "CreateTime" && c.MessageTimestampType != "LogAppendTime" {
		bad("message.timestamp.type", c.MessageTimestampType, `must be "CreateTime" or "LogAppendTime"`)
	}
	return errors.Join(errs...)
}

// Compact reports whether cleanup.policy includes compaction.
func (c Config) Compact() bool { return c.hasPolicy(CleanupCompact) }

// Delete reports whether cleanup.policy includes time/size retention.
func (c Config) Delete() bool { return c.hasPolicy(CleanupDelete) }

func (c Config) hasPolicy(p string) bool {
	parts := strings.Split(c.CleanupPolicy, ",")
	found := false
	for _, s := range parts {
		s = strings.TrimSpace(s)
		if s != CleanupCompact && s != CleanupDelete {
			return false
		}
		if s == p {
			found = true
		}
	}
	return found
}

// ConfigKey describes one topic-level config: its Kafka name, how to read and write
// it on a Config, and whether it is sensitive. The table drives DescribeConfigs,
// AlterConfigs and validation, so a key is declared once.
type ConfigKey struct {
	Name string
	Doc  string
	get  func(*Config) string
	set  func(*Config, string) error
}

// Get returns the key's value in c as Kafka prints it.
func (k ConfigKey) Get(c Config) string { return k.get(&c) }

func intKey(name, doc string, field func(*Config) *int64) ConfigKey {
	return ConfigKey{
		Name: name, Doc: doc,
		get: func(c *Config) string { return strconv.FormatInt(*field(c), 10) },
		set: func(c *Config, v string) error {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return fmt.Errorf("%s=%q: not an integer", name, v)
			}
			*field(c) = n
			return nil
		},
	}
}

// ConfigKeys lists every topic config this package understands, sorted by name.
var ConfigKeys = func() []ConfigKey {
	keys := []ConfigKey{
		intKey("segment.bytes", "segment size before a roll", func(c *Config) *int64 { return &c.SegmentBytes }),
		intKey("segment.ms", "segment age before a roll", func(c *Config) *int64 { return &c.SegmentMs }),
		intKey("index.interval.bytes", "bytes between offset-index entries", func(c *Config) *int64 { return &c.IndexIntervalBytes }),
		intKey("retention.ms", "time to keep a segment; -1 forever", func(c *Config) *int64 { return &c.RetentionMs }),
		intKey("retention.bytes", "size to keep per partition; -1 no limit", func(c *Config) *int64 { return &c.RetentionBytes }),
		intKey("delete.retention.ms", "time tombstones survive compaction", func(c *Config) *int64 { return &c.DeleteRetentionMs }),
		intKey("min.compaction.lag.ms", "minimum record age before compaction", func(c *Config) *int64 { return &c.MinCompactionLagMs }),
		intKey("flush.messages", "records between fsyncs", func(c *Config) *int64 { return &c.FlushMessages }),
		intKey("flush.ms", "milliseconds between fsyncs", func(c *Config) *int64 { return &c.FlushMs }),
		intKey("max.message.bytes", "largest record batch accepted", func(c *Config) *int64 { return &c.MaxMessageBytes }),
		{
			Name: "cleanup.policy", Doc: "delete, compact or compact,delete",
			get: func(c *Config) string { return c.CleanupPolicy },
			set: func(c *Config, v string) error { c.CleanupPolicy = strings.ReplaceAll(v, " ", ""); return nil },
		},
		{
			Name: "message.timestamp.type", Doc: "CreateTime or LogAppendTime",
			get: func(c *Config) string { return c.MessageTimestampType },
			set: func(c *Config, v string) error { c.MessageTimestampType = v; return nil },
		},
		{
			Name: "min.cleanable.dirty.ratio", Doc: "dirty share of the log that triggers compaction",
			get: func(c *Config) string { return strconv.FormatFloat(c.MinCleanableDirtyRatio, 'g', -1, 64) },
			set: func(c *Config, v string) error {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil {
					return fmt.Errorf("min.cleanable.dirty.ratio=%q: not a number", v)
				}
				c.MinCleanableDirtyRatio = f
				return nil
			},
		},
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Name < keys[j].Name })
	return keys
}()

// LookupConfigKey finds a key by its Kafka name.
func LookupConfigKey(name string) (ConfigKey, bool) {
	for _, k := range ConfigKeys {
		if k.Name == name {
			return k, true
		}
	}
	return ConfigKey{}, false
}

// ErrUnknownConfig is returned by ApplyOverrides for a name not in ConfigKeys.
var ErrUnknownConfig = errors.New("log: unknown config")

// ApplyOverrides returns base with the given name→value overrides applied and
// validated, reporting every bad key and value at once. Names not in ConfigKeys
// are errors wrapping ErrUnknownConfig.
func ApplyOverrides(base Config, overrides map[string]string) (Config, error) {
	c := base
	var errs []error
	names := make([]string, 0, len(overrides))
	for n := range overrides {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		k, ok := LookupConfigKey(n)
		if !ok {
			errs = append(errs, fmt.Errorf("%w: %s", ErrUnknownConfig, n))
			continue
		}
		if err := k.set(&c, overrides[n]); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		if err := c.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return c, errors.Join(errs...)
}
