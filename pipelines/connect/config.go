package connect

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tributary-io/tributary/sdk"
)

// Runtime configuration keys. Every other key of a connector's
// configuration is given to the plugin, which validates it against its
// config spec.
const (
	KeyPlugin          = "plugin"
	KeyType            = "type"
	KeyTopic           = "topic"
	KeyTopics          = "topics"
	KeyTasksMax        = "tasks.max"
	KeyTolerance       = "errors.tolerance"
	KeyRetryTimeout    = "errors.retry.timeout"
	KeyRetryDelayMax   = "errors.retry.delay.max"
	KeyDeadLetterTopic = "errors.deadletterqueue.topic.name"
	KeyBatchMax        = "batch.max.records"
)

// runtimeKeys are the keys the runtime consumes itself.
var runtimeKeys = []string{KeyPlugin, KeyType, KeyTopic, KeyTopics, KeyTasksMax, KeyTolerance,
	KeyRetryTimeout, KeyRetryDelayMax, KeyDeadLetterTopic, KeyBatchMax}

// Tolerance is errors.tolerance.
type Tolerance string

// The tolerances, as Kafka Connect names them.
const (
	// ToleranceNone fails the task on a record that still fails after the
	// retries. The default.
	ToleranceNone Tolerance = "none"
	// ToleranceAll skips such records (to the dead-letter topic when set).
	ToleranceAll Tolerance = "all"
)

// Defaults of the runtime keys.
const (
	DefaultRetryTimeout  = 30 * time.Second
	DefaultRetryDelayMax = 10 * time.Second
	DefaultBatchMax      = 1000
	// MaxTasks bounds tasks.max.
	MaxTasks = 64
)

// Config is a connector's configuration split into what the runtime uses
// and what the plugin gets.
type Config struct {
	Name   string
	Plugin string
	Kind   sdk.Kind
	// Topic is where a source writes; Topics what a sink reads.
	Topic  string
	Topics []string
	// Tasks is the number of tasks: sinks share their topics' partitions
	// among them; a source runs one task (the plugin API has no way to split
	// a source's work).
	Tasks         int
	Tolerance     Tolerance
	RetryTimeout  time.Duration
	RetryDelayMax time.Duration
	DeadLetter    string
	BatchMax      int
	// PluginConfig is every key that is not a runtime key, for the plugin.
	PluginConfig map[string]string
}

var (
	nameRE  = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$`)
	topicRE = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)
)

// Validator checks a plugin's configuration; *plugins.Registry is one.
type Validator interface {
	Validate(ctx context.Context, plugin string, kind sdk.Kind, raw map[string]string) ([]sdk.Problem, error)
}

// Parse checks the runtime keys of raw and returns the configuration with
// every problem found (field, value, reason). It does not ask the plugin;
// Validate does both.
func Parse(name string, raw map[string]string) (Config, []sdk.Problem) {
	var probs []sdk.Problem
	bad := func(field, value, format string, args ...any) {
		probs = append(probs, sdk.Problem{Field: field, Value: value, Reason: fmt.Sprintf(format, args...)})
	}
	c := Config{Name: name, Tasks: 1, Tolerance: ToleranceNone, RetryTimeout: DefaultRetryTimeout,
		RetryDelayMax: DefaultRetryDelayMax, BatchMax: DefaultBatchMax, PluginConfig: map[string]string{}}
	if !nameRE.MatchString(name) {
		bad("name", name, "use 1 to 63 lower-case letters, digits, '.', '_' or '-', starting and ending with a letter or digit")
	}
	for k, v := range raw {
		if !slices.Contains(runtimeKeys, k) && k != "name" {
			c.PluginConfig[k] = v
		}
	}
	c.Plugin = strings.TrimSpace(raw[KeyPlugin])
	if c.Plugin == "" {
		bad(KeyPlugin, "", "required: the plugin's name (see tributary connector plugins)")
	}
	switch t := raw[KeyType]; t {
	case "source":
		c.Kind = sdk.KindSource
	case "sink":
		c.Kind = sdk.KindSink
	case "":
		bad(KeyType, "", "required: source or sink")
	default:
		bad(KeyType, t, "want source or sink")
	}
	c.Topic = strings.TrimSpace(raw[KeyTopic])
	for _, t := range strings.Split(raw[KeyTopics], ",") {
		if t = strings.TrimSpace(t); t != "" {
			c.Topics = append(c.Topics, t)
		}
	}
	switch c.Kind {
	case sdk.KindSource:
		if c.Topic == "" {
			bad(KeyTopic, "", "required for a source: the topic it writes to")
		} else if !topicRE.MatchString(c.Topic) {
			bad(KeyTopic, c.Topic, "not a topic name: use 1 to 249 letters, digits, '.', '_' or '-'")
		}
		if len(c.Topics) > 0 {
			bad(KeyTopics, raw[KeyTopics], "a source writes to one topic: use topic")
		}
	case sdk.KindSink:
		if len(c.Topics) == 0 {
			bad(KeyTopics, raw[KeyTopics], "required for a sink: the comma-separated topics it reads")
		}
		for _, t := range c.Topics {
			if !topicRE.MatchString(t) {
				bad(KeyTopics, t, "not a topic name: use 1 to 249 letters, digits, '.', '_' or '-'")
			}
		}
		if c.Topic != "" {
			bad(KeyTopic, c.Topic, "a sink reads topics: use topics")
		}
	}
	if v, ok := raw[KeyTasksMax]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		switch {
		case err != nil:
			bad(KeyTasksMax, v, "not an integer")
		case n < 1 || n > MaxTasks:
			bad(KeyTasksMax, v, "must be between 1 and %d", MaxTasks)
		case n > 1 && c.Kind == sdk.KindSource:
			bad(KeyTasksMax, v, "a source connector runs one task: plugins cannot split a source's work")
		default:
			c.Tasks = n
		}
	}
	if v, ok := raw[KeyTolerance]; ok {
		switch Tolerance(v) {
		case ToleranceNone, ToleranceAll:
			c.Tolerance = Tolerance(v)
		default:
			bad(KeyTolerance, v, "want none or all")
		}
	}
	dur := func(key string, into *time.Duration) {
		v, ok := raw[key]
		if !ok {
			return
		}
		d, err := time.ParseDuration(strings.TrimSpace(v))
		switch {
		case err != nil:
			bad(key, v, "not a duration such as 30s or 5m")
		case d < 0:
			bad(key, v, "must not be negative")
		default:
			*into = d
		}
	}
	dur(KeyRetryTimeout, &c.RetryTimeout)
	dur(KeyRetryDelayMax, &c.RetryDelayMax)
	if v, ok := raw[KeyBatchMax]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > 100_000 {
			bad(KeyBatchMax, v, "must be an integer between 1 and 100000")
		} else {
			c.BatchMax = n
		}
	}
	if v, ok := raw[KeyDeadLetterTopic]; ok && v != "" {
		c.DeadLetter = v
		switch {
		case !topicRE.MatchString(v):
			bad(KeyDeadLetterTopic, v, "not a topic name")
		case c.Tolerance != ToleranceAll:
			bad(KeyDeadLetterTopic, v, "a dead-letter topic needs errors.tolerance=all (with none, a failed record fails the task)")
		case v == c.Topic || slices.Contains(c.Topics, v):
			bad(KeyDeadLetterTopic, v, "must differ from the connector's own topics")
		}
	}
	sortProblems(probs)
	return c, probs
}

// Validate checks raw completely: the runtime keys, then the plugin's own
// configuration through v (its spec, field checks and cross-field hook).
// Every problem is listed; none means the connector can start. err is
// set only when the plugin could not be asked at all.
func Validate(ctx context.Context, v Validator, name string, raw map[string]string) (Config, []sdk.Problem, error) {
	c, probs := Parse(name, raw)
	if c.Plugin == "" || c.Kind == 0 || v == nil {
		return c, probs, nil
	}
	more, err := v.Validate(ctx, c.Plugin, c.Kind, c.PluginConfig)
	if err != nil {
		probs = append(probs, sdk.Problem{Field: KeyPlugin, Value: c.Plugin, Reason: err.Error()})
		sortProblems(probs)
		return c, probs, nil
	}
	probs = append(probs, more...)
	sortProblems(probs)
	return c, probs, nil
}

func sortProblems(ps []sdk.Problem) {
	slices.SortStableFunc(ps, func(a, b sdk.Problem) int { return strings.Compare(a.Field, b.Field) })
}

// Raw returns the configuration as flat key/values, the form stored and
// shown by the REST API.
func (c Config) Raw() map[string]string {
	out := maps.Clone(c.PluginConfig)
	out[KeyPlugin] = c.Plugin
	out[KeyType] = c.Kind.String()
	if c.Topic != "" {
		out[KeyTopic] = c.Topic
	}
	if len(c.Topics) > 0 {
		out[KeyTopics] = strings.Join(c.Topics, ",")
	}
	out[KeyTasksMax] = strconv.Itoa(c.Tasks)
	out[KeyTolerance] = string(c.Tolerance)
	out[KeyRetryTimeout] = c.RetryTimeout.String()
	out[KeyRetryDelayMax] = c.RetryDelayMax.String()
	out[KeyBatchMax] = strconv.Itoa(c.BatchMax)
	if c.DeadLetter != "" {
		out[KeyDeadLetterTopic] = c.DeadLetter
	}
	return out
}
