package cluster

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/tributary-io/tributary/broker/log"
)

// ConfigType is a config's value type. The values are Kafka's DescribeConfigs
// ConfigType codes, so the protocol layer passes them through.
type ConfigType int8

// Config types (Kafka codes).
const (
	ConfigTypeBoolean ConfigType = 1
	ConfigTypeString  ConfigType = 2
	ConfigTypeInt     ConfigType = 3
	ConfigTypeLong    ConfigType = 5
	ConfigTypeDouble  ConfigType = 6
	ConfigTypeList    ConfigType = 7
)

// ConfigSource says where an effective config value comes from. The values are
// Kafka's DescribeConfigs ConfigSource codes.
type ConfigSource int8

// Config sources (Kafka codes).
const (
	// SourceTopic is a topic override (DYNAMIC_TOPIC_CONFIG).
	SourceTopic ConfigSource = 1
	// SourceBroker is the broker's own configuration (STATIC_BROKER_CONFIG).
	SourceBroker ConfigSource = 4
	// SourceDefault is Kafka's built-in default (DEFAULT_CONFIG).
	SourceDefault ConfigSource = 5
)

// TopicConfigKey describes one topic-level config as DescribeConfigs lists it.
type TopicConfigKey struct {
	// Name is the topic config name, e.g. "retention.ms".
	Name string
	// BrokerName is the broker-wide setting that supplies the default, e.g.
	// "log.retention.ms"; DescribeConfigs shows it as a synonym.
	BrokerName string
	// Type is the value type.
	Type ConfigType
	// Default is Kafka's built-in default, as Kafka prints it.
	Default string
	// Doc is a one-line description.
	Doc string
	// Sensitive configs have their values hidden from DescribeConfigs. None is today.
	Sensitive bool
	// ReadOnly configs cannot be set on a topic. None is today.
	ReadOnly bool

	// logKey is the broker/log key behind this config; for the others (configs
	// that are not log settings), check validates a value.
	logKey *log.ConfigKey
	check  func(v string) error
}

// IsLog reports whether the config is a log setting that broker/log applies.
// The others are stored and described but read by other layers (min.insync.replicas
// by replication, compression.type by produce) or by none yet.
func (k TopicConfigKey) IsLog() bool { return k.logKey != nil }

// Value returns the effective value of the config for a topic with the given
// overrides on a broker with the given log defaults, and where it comes from.
func (k TopicConfigKey) Value(defaults log.Config, overrides map[string]string) (string, ConfigSource) {
	if v, ok := overrides[k.Name]; ok {
		return v, SourceTopic
	}
	return k.BrokerValue(defaults)
}

// BrokerValue is the value a topic without an override gets: the broker's log
// default (SourceBroker when it differs from Kafka's) or Kafka's default.
func (k TopicConfigKey) BrokerValue(defaults log.Config) (string, ConfigSource) {
	if k.logKey != nil {
		if v := k.logKey.Get(defaults); v != k.Default {
			return v, SourceBroker
		}
	}
	return k.Default, SourceDefault
}

// logKeyInfo adds what DescribeConfigs needs to broker/log's keys: the broker-wide
// synonym and the Kafka type.
var logKeyInfo = map[string]struct {
	broker string
	typ    ConfigType
}{
	"cleanup.policy":            {"log.cleanup.policy", ConfigTypeList},
	"delete.retention.ms":       {"log.cleaner.delete.retention.ms", ConfigTypeLong},
	"flush.messages":            {"log.flush.interval.messages", ConfigTypeLong},
	"flush.ms":                  {"log.flush.interval.ms", ConfigTypeLong},
	"index.interval.bytes":      {"log.index.interval.bytes", ConfigTypeInt},
	"max.message.bytes":         {"message.max.bytes", ConfigTypeInt},
	"message.timestamp.type":    {"log.message.timestamp.type", ConfigTypeString},
	"min.cleanable.dirty.ratio": {"log.cleaner.min.cleanable.ratio", ConfigTypeDouble},
	"min.compaction.lag.ms":     {"log.cleaner.min.compaction.lag.ms", ConfigTypeLong},
	"retention.bytes":           {"log.retention.bytes", ConfigTypeLong},
	"retention.ms":              {"log.retention.ms", ConfigTypeLong},
	"segment.bytes":             {"log.segment.bytes", ConfigTypeInt},
	"segment.ms":                {"log.roll.ms", ConfigTypeLong},
}

// otherTopicConfigs are the Kafka topic configs clients commonly set that are not
// log settings. They are validated here and kept as overrides.
func otherTopicConfigs() []TopicConfigKey {
	maxLong := strconv.FormatInt(math.MaxInt64, 10)
	return []TopicConfigKey{
		{Name: "compression.type", BrokerName: "compression.type", Type: ConfigTypeString, Default: "producer",
			Doc:   "codec batches are stored with; producer keeps the producer's",
			check: oneOf("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer")},
		{Name: "max.compaction.lag.ms", BrokerName: "log.cleaner.max.compaction.lag.ms", Type: ConfigTypeLong, Default: maxLong,
			Doc: "longest time a record stays uncompacted", check: longAtLeast(1)},
		{Name: "message.downconversion.enable", BrokerName: "log.message.downconversion.enable", Type: ConfigTypeBoolean, Default: "true",
			Doc: "whether fetches may down-convert to old message formats", check: boolean},
		{Name: "message.timestamp.after.max.ms", BrokerName: "log.message.timestamp.after.max.ms", Type: ConfigTypeLong, Default: maxLong,
			Doc: "how far in the future a record's timestamp may be", check: longAtLeast(0)},
		{Name: "message.timestamp.before.max.ms", BrokerName: "log.message.timestamp.before.max.ms", Type: ConfigTypeLong, Default: maxLong,
			Doc: "how far in the past a record's timestamp may be", check: longAtLeast(0)},
		{Name: "message.timestamp.difference.max.ms", BrokerName: "log.message.timestamp.difference.max.ms", Type: ConfigTypeLong, Default: maxLong,
			Doc: "largest gap between a record's timestamp and the broker's clock", check: longAtLeast(0)},
		{Name: "min.insync.replicas", BrokerName: "min.insync.replicas", Type: ConfigTypeInt, Default: "1",
			Doc: "replicas that must have a record before acks=all succeeds", check: intAtLeast(1)},
		{Name: "preallocate", BrokerName: "log.preallocate", Type: ConfigTypeBoolean, Default: "false",
			Doc: "preallocate segment files", check: boolean},
		{Name: "segment.index.bytes", BrokerName: "log.index.size.max.bytes", Type: ConfigTypeInt, Default: "10485760",
			Doc: "largest offset index file", check: intAtLeast(4)},
		{Name: "segment.jitter.ms", BrokerName: "log.roll.jitter.ms", Type: ConfigTypeLong, Default: "0",
			Doc: "random jitter subtracted from segment.ms", check: longAtLeast(0)},
		{Name: "unclean.leader.election.enable", BrokerName: "unclean.leader.election.enable", Type: ConfigTypeBoolean, Default: "false",
			Doc: "whether a replica outside the ISR may become leader, losing data", check: boolean},
	}
}

// topicConfigKeys builds the full table once per call: broker/log's keys plus the
// others, sorted by name. It is small, so callers need not cache it.
func topicConfigKeys() []TopicConfigKey {
	defaults := log.DefaultConfig()
	keys := otherTopicConfigs()
	for i := range log.ConfigKeys {
		lk := log.ConfigKeys[i]
		info, ok := logKeyInfo[lk.Name]
		if !ok {
			// A log key this table does not know yet: still describe it.
			info.broker, info.typ = "log."+lk.Name, ConfigTypeString
		}
		keys = append(keys, TopicConfigKey{
			Name: lk.Name, BrokerName: info.broker, Type: info.typ,
			Default: lk.Get(defaults), Doc: lk.Doc, logKey: &lk,
		})
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Name < keys[j].Name })
	return keys
}

// TopicConfigKeys lists every topic config the broker accepts, sorted by name.
func TopicConfigKeys() []TopicConfigKey { return topicConfigKeys() }

// LookupTopicConfigKey finds a topic config by name.
func LookupTopicConfigKey(name string) (TopicConfigKey, bool) {
	for _, k := range topicConfigKeys() {
		if k.Name == name {
			return k, true
		}
	}
	return TopicConfigKey{}, false
}

// ValidateTopicConfigs checks topic overrides: names must be known, log settings
// must pass log.ApplyOverrides over Kafka's defaults, the others their own checks.
// Every problem is reported at once; the error wraps ErrInvalidConfig.
func ValidateTopicConfigs(overrides map[string]string) error {
	if len(overrides) == 0 {
		return nil
	}
	keys := topicConfigKeys()
	byName := make(map[string]TopicConfigKey, len(keys))
	for _, k := range keys {
		byName[k.Name] = k
	}
	names := make([]string, 0, len(overrides))
	for n := range overrides {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []error
	logOverrides := map[string]string{}
	for _, n := range names {
		k, ok := byName[n]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("unknown topic config %q", n))
		case k.ReadOnly:
			errs = append(errs, fmt.Errorf("topic config %q is read-only", n))
		case k.logKey != nil:
			if k.Type == ConfigTypeInt {
				if err := intAtLeast(math.MinInt32)(overrides[n]); err != nil {
					errs = append(errs, fmt.Errorf("%s=%q: %w", n, overrides[n], err))
					continue
				}
			}
			logOverrides[n] = overrides[n]
		default:
			if err := k.check(overrides[n]); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", n, overrides[n], err))
			}
		}
	}
	if _, err := log.ApplyOverrides(log.DefaultConfig(), logOverrides); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalidConfig, errors.Join(errs...))
}

// LogConfig returns the log config of a topic with the given overrides on a broker
// with the given log defaults. Overrides that are not log settings are skipped, so
// callers can pass a topic's whole Configs map.
func LogConfig(defaults log.Config, overrides map[string]string) (log.Config, error) {
	logOverrides := make(map[string]string, len(overrides))
	for n, v := range overrides {
		if _, ok := log.LookupConfigKey(n); ok {
			logOverrides[n] = v
		}
	}
	cfg, err := log.ApplyOverrides(defaults, logOverrides)
	if err != nil {
		return cfg, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return cfg, nil
}

// LogConfig is the topic's effective log config on a broker with the given defaults.
func (t *Topic) LogConfig(defaults log.Config) (log.Config, error) {
	cfg, err := LogConfig(defaults, t.Configs)
	if err != nil {
		return cfg, fmt.Errorf("topic %s: %w", t.Name, err)
	}
	return cfg, nil
}

func oneOf(allowed ...string) func(string) error {
	return func(v string) error {
		for _, a := range allowed {
			if v == a {
				return nil
			}
		}
		return fmt.Errorf("must be one of %s", strings.Join(allowed, ", "))
	}
}

func boolean(v string) error {
	// Kafka parses booleans case-insensitively and accepts only true and false.
	if l := strings.ToLower(strings.TrimSpace(v)); l != "true" && l != "false" {
		return errors.New("must be true or false")
	}
	return nil
}

func intAtLeast(least int64) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil {
			return errors.New("not a 32-bit integer")
		}
		if n < least {
			return fmt.Errorf("must be at least %d", least)
		}
		return nil
	}
}

func longAtLeast(least int64) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return errors.New("not a 64-bit integer")
		}
		if n < least {
			return fmt.Errorf("must be at least %d", least)
		}
		return nil
	}
}
