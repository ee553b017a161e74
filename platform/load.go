package platform

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tributary-io/tributary/broker/log"
)

// EnvPrefix starts every environment variable Load reads.
const EnvPrefix = "TRIBUTARY_"

// ConfigFileEnv names the environment variable holding the YAML file's path
// when neither Sources.File nor --config is given.
const ConfigFileEnv = EnvPrefix + "CONFIG"

// Sources are where Load reads a Config from. Later sources override earlier
// ones key by key: the YAML file, then the environment, then flags.
type Sources struct {
	// File is the YAML file's path. When empty, the --config flag and then
	// TRIBUTARY_CONFIG are used; when all are empty no file is read.
	File string
	// Env looks up an environment variable, like os.LookupEnv. Nil reads none.
	Env func(key string) (string, bool)
	// Flags is a parsed flag set on which RegisterFlags was called. Only the
	// flags given on the command line override. Nil reads none.
	Flags *flag.FlagSet
}

// Load reads a Config from src, applies defaults and validates it. It reports
// every problem it finds at once: unknown YAML keys with file:line:col, values
// of the wrong type, bad environment variables and flags, and everything
// Validate rejects.
func Load(src Sources) (Config, error) {
	var c Config
	var errs []error
	if path := configPath(src); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("read config file: %w", err))
		} else if err := decodeYAML(path, data, &c); err != nil {
			errs = append(errs, err)
		}
	}
	table := settings()
	if src.Env != nil {
		for _, s := range table {
			name := s.envName()
			if v, ok := src.Env(name); ok {
				if err := s.set(&c, v); err != nil {
					errs = append(errs, fmt.Errorf("environment %s: %w", name, err))
				}
			}
		}
	}
	if src.Flags != nil {
		byFlag := make(map[string]setting, len(table))
		for _, s := range table {
			byFlag[s.flagName()] = s
		}
		src.Flags.Visit(func(f *flag.Flag) {
			s, ok := byFlag[f.Name]
			fv, isOurs := f.Value.(*flagValue)
			if !ok || !isOurs {
				return // a flag of the caller's own, such as --config
			}
			for _, v := range fv.vals {
				if err := s.set(&c, v); err != nil {
					errs = append(errs, fmt.Errorf("flag --%s: %w", f.Name, err))
				}
			}
		})
	}
	c.EnsureDefaults()
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

func configPath(src Sources) string {
	if src.File != "" {
		return src.File
	}
	if src.Flags != nil {
		if f := src.Flags.Lookup("config"); f != nil && f.Value.String() != "" {
			return f.Value.String()
		}
	}
	if src.Env != nil {
		if v, ok := src.Env(ConfigFileEnv); ok {
			return v
		}
	}
	return ""
}

// RegisterFlags defines on fs one flag per configuration key, plus --config
// for the YAML file. Pass the parsed fs to Load as Sources.Flags.
func RegisterFlags(fs *flag.FlagSet) {
	fs.String("config", "", "YAML config `file` (env "+ConfigFileEnv+")")
	for _, s := range settings() {
		fs.Var(&flagValue{list: s.repeat, isBool: s.isBool}, s.flagName(),
			fmt.Sprintf("%s (YAML %s, env %s)", s.usage, s.key, s.envName()))
	}
}

// flagValue keeps the raw text of a flag; Load parses it with the same code
// as the environment so both give the same errors.
type flagValue struct {
	vals   []string
	list   bool
	isBool bool
}

func (f *flagValue) String() string {
	if f == nil {
		return ""
	}
	return strings.Join(f.vals, ",")
}

func (f *flagValue) Set(v string) error {
	if f.list {
		f.vals = append(f.vals, v)
	} else {
		f.vals = []string{v}
	}
	return nil
}

// IsBoolFlag lets a boolean flag be given without "=true".
func (f *flagValue) IsBoolFlag() bool { return f.isBool }

// setting is one configuration key as the environment and flags see it. The
// YAML file is decoded straight into Config by its tags; a test checks that
// the tags and this table name the same keys.
type setting struct {
	// key is the YAML key, "section.key" inside a section; env is
	// TRIBUTARY_<KEY upper case, dots as underscores>, flag is --<key with
	// dashes for underscores and dots>.
	key    string
	flag   string // flag name when it differs from the derived one
	usage  string
	repeat bool // the flag may be given more than once
	isBool bool
	set    func(c *Config, v string) error
}

func (s setting) envName() string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(s.key, ".", "_"))
}

func (s setting) flagName() string {
	if s.flag != "" {
		return s.flag
	}
	return strings.NewReplacer("_", "-", ".", "-").Replace(s.key)
}

func settings() []setting {
	return append([]setting{
		{key: "node_id", usage: "broker id of this node (default 1)", set: func(c *Config, v string) error {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
			if err != nil {
				return fmt.Errorf("node_id %q: not a 32-bit integer", v)
			}
			c.NodeID = int32(n)
			return nil
		}},
		{key: "data_dir", usage: "directory for logs and metadata (default " + DefaultDataDir + ")",
			set: func(c *Config, v string) error { c.DataDir = v; return nil }},
		{key: "listeners", usage: "comma-separated Kafka listen addresses host:port (default " + DefaultListener + ")",
			set: func(c *Config, v string) error { c.Listeners = splitList(v); return nil }},
		{key: "advertised_listeners", usage: "comma-separated addresses given to clients, one per listener (default: the listeners)",
			set: func(c *Config, v string) error { c.AdvertisedListeners = splitList(v); return nil }},
		{key: "http_addr", usage: "HTTP server address for /healthz, /readyz, /metrics and /admin/log-level (default " + DefaultHTTPAddr + ")",
			set: func(c *Config, v string) error { c.HTTPAddr = v; return nil }},
		{key: "log_level", usage: "debug, info, warn or error (default " + DefaultLogLevel + ")",
			set: func(c *Config, v string) error { c.LogLevel = v; return nil }},
		{key: "log_format", usage: "text or json (default " + DefaultLogFormat + ")",
			set: func(c *Config, v string) error { c.LogFormat = v; return nil }},
		{key: "auto_create_topics", isBool: true, usage: "create unknown topics on first use (default true)",
			set: func(c *Config, v string) error {
				b, err := strconv.ParseBool(strings.TrimSpace(v))
				if err != nil {
					return fmt.Errorf("auto_create_topics %q: not a boolean", v)
				}
				c.AutoCreateTopics = &b
				return nil
			}},
		{key: "num_partitions", usage: "partitions of auto-created topics (default 1)", set: func(c *Config, v string) error {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
			if err != nil {
				return fmt.Errorf("num_partitions %q: not a 32-bit integer", v)
			}
			c.NumPartitions = int32(n)
			return nil
		}},
		{key: "default_replication_factor", usage: "replication factor of auto-created topics (default 1)", set: func(c *Config, v string) error {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 16)
			if err != nil {
				return fmt.Errorf("default_replication_factor %q: not a 16-bit integer", v)
			}
			c.DefaultReplicationFactor = int16(n)
			return nil
		}},
		{key: "shutdown_timeout", usage: "how long a graceful shutdown may take (default 30s)", set: func(c *Config, v string) error {
			d, err := time.ParseDuration(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("shutdown_timeout %q: not a duration like 30s", v)
			}
			c.ShutdownTimeout = d
			return nil
		}},
		{key: "topic_defaults", flag: "topic-default", repeat: true,
			usage: "broker-wide topic config default name=value, repeatable; env takes a comma-separated list",
			set:   setTopicDefaults},
		{key: "groups.initial_rebalance_delay", usage: "wait this long for more members before an empty group's first rebalance; 0s for none (default 3s)",
			set: durationSetting("groups.initial_rebalance_delay", func(c *Config, d time.Duration) { c.Groups.InitialRebalanceDelay = &d })},
		{key: "groups.min_session_timeout", usage: "shortest session timeout a consumer may ask for (default 6s)",
			set: durationSetting("groups.min_session_timeout", func(c *Config, d time.Duration) { c.Groups.MinSessionTimeout = d })},
		{key: "groups.max_session_timeout", usage: "longest session timeout a consumer may ask for (default 30m)",
			set: durationSetting("groups.max_session_timeout", func(c *Config, d time.Duration) { c.Groups.MaxSessionTimeout = d })},
		{key: "groups.offsets_retention", usage: "how long an empty group's committed offsets are kept (default 168h)",
			set: durationSetting("groups.offsets_retention", func(c *Config, d time.Duration) { c.Groups.OffsetsRetention = d })},
	}, slices.Concat(transactionsSettings(), clusterSettings(), securitySettings(), workerSettings())...)
}

// durationSetting parses a Go duration ("30s", "5m", "168h") for key.
func durationSetting(key string, apply func(*Config, time.Duration)) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("%s %q: not a duration like 30s, 5m or 168h", key, v)
		}
		apply(c, d)
		return nil
	}
}

// setTopicDefaults merges "name=value[,name=value...]" into c.TopicDefaults.
// A comma starts a new pair only when the text after it has an "=", so
// "cleanup.policy=compact,delete" keeps its comma.
func setTopicDefaults(c *Config, v string) error {
	var pairs []string
	for _, part := range strings.Split(v, ",") {
		if len(pairs) > 0 && !strings.Contains(part, "=") {
			pairs[len(pairs)-1] += "," + part
			continue
		}
		pairs = append(pairs, part)
	}
	var errs []error
	for _, p := range pairs {
		name, value, ok := strings.Cut(p, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			errs = append(errs, fmt.Errorf("topic default %q: want name=value", p))
			continue
		}
		if c.TopicDefaults == nil {
			c.TopicDefaults = make(map[string]string)
		}
		c.TopicDefaults[name] = strings.TrimSpace(value)
	}
	return errors.Join(errs...)
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// decodeYAML decodes data into c key by key, so that every error carries the
// file name, line and column of the offending key or value.
func decodeYAML(name string, data []byte, c *Config) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if len(doc.Content) == 0 {
		return nil // an empty file sets nothing
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("%s:%d:%d: want a mapping of settings at the top level", name, root.Line, root.Column)
	}
	fields := yamlFields()
	var errs []error
	at := func(n *yaml.Node, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%d:%d: %s", name, n.Line, n.Column, fmt.Sprintf(format, args...)))
	}
	rv := reflect.ValueOf(c).Elem()
	seen := make(map[string]*yaml.Node, len(fields))
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if first, dup := seen[k.Value]; dup {
			at(k, "key %q repeats the one at %d:%d", k.Value, first.Line, first.Column)
			continue
		}
		seen[k.Value] = k
		idx, ok := fields[k.Value]
		if !ok {
			at(k, "unknown key %q%s", k.Value, suggest(k.Value, fields))
			continue
		}
		if f := rv.Field(idx); f.Kind() == reflect.Struct {
			decodeSection(k.Value, v, f, at)
			continue
		}
		if err := v.Decode(rv.Field(idx).Addr().Interface()); err != nil {
			at(v, "%s: %s", k.Value, typeErrorText(err))
			continue
		}
		if k.Value == "topic_defaults" {
			checkTopicDefaultNames(v, at)
		}
	}
	return errors.Join(errs...)
}

// checkTopicDefaultNames reports unknown topic config names where they are
// written; their values are checked by Validate.
func checkTopicDefaultNames(m *yaml.Node, at func(*yaml.Node, string, ...any)) {
	if m.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if _, ok := log.LookupConfigKey(k.Value); !ok {
			at(k, "topic_defaults: unknown topic config %q", k.Value)
		}
	}
}

// decodeSection decodes a section (a nested mapping such as `groups:`) into
// the struct out key by key, so unknown keys are reported (yaml.v3 would drop
// them silently) and every error points at its own key or value.
func decodeSection(section string, m *yaml.Node, out reflect.Value, at func(*yaml.Node, string, ...any)) {
	if m.Kind != yaml.MappingNode {
		at(m, "%s: want a mapping of settings", section)
		return
	}
	known := tagsOf(out.Type())
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		idx, ok := known[k.Value]
		if !ok {
			at(k, "%s: unknown key %q%s", section, k.Value, suggest(k.Value, known))
			continue
		}
		if err := v.Decode(out.Field(idx).Addr().Interface()); err != nil {
			at(v, "%s.%s: %s", section, k.Value, typeErrorText(err))
		}
	}
}

// tagsOf maps the YAML keys of struct type t to their field indexes.
func tagsOf(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if tag != "" && tag != "-" {
			m[tag] = i
		}
	}
	return m
}

// yamlKeys lists every settable key: top-level keys, and "section.key" for
// the keys of a section.
func yamlKeys() []string {
	t := reflect.TypeOf(Config{})
	var out []string
	for tag, i := range yamlFields() {
		ft := t.Field(i).Type
		if ft.Kind() != reflect.Struct {
			out = append(out, tag)
			continue
		}
		for sub := range tagsOf(ft) {
			out = append(out, tag+"."+sub)
		}
	}
	return out
}

// yamlFields maps each YAML key of Config to its field index.
func yamlFields() map[string]int { return tagsOf(reflect.TypeOf(Config{})) }

// typeErrorText strips yaml.v3's "line N:" prefixes; the caller adds the position.
func typeErrorText(err error) string {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err.Error()
	}
	msgs := make([]string, 0, len(te.Errors))
	for _, e := range te.Errors {
		if i := strings.Index(e, ": "); strings.HasPrefix(e, "line ") && i >= 0 {
			e = e[i+2:]
		}
		msgs = append(msgs, e)
	}
	return strings.Join(msgs, "; ")
}

// suggest names the known key that the unknown one most likely meant, or
// lists all known keys.
func suggest(key string, fields map[string]int) string {
	norm := func(s string) string {
		return strings.NewReplacer("_", "", "-", "", ".", "").Replace(strings.ToLower(s))
	}
	known := make([]string, 0, len(fields))
	for k := range fields {
		if norm(k) == norm(key) {
			return fmt.Sprintf(" (did you mean %q?)", k)
		}
		known = append(known, k)
	}
	sort.Strings(known)
	return " (known keys: " + strings.Join(known, ", ") + ")"
}
