package sdk

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// FieldType says how a configuration value, always given as a string, parses.
type FieldType int

const (
	// String is taken as given.
	String FieldType = iota + 1
	// Int is a base-10 int64.
	Int
	// Bool is true/false (also 1/0, t/f).
	Bool
	// Duration is a Go duration such as "250ms" or "1h30m".
	Duration
	// List is comma-separated; spaces around items and empty items are dropped.
	List
	// Bytes is a size: a number with an optional unit B, KB, MB, GB (powers
	// of 1000) or KiB, MiB, GiB (powers of 1024).
	Bytes
)

// String returns the type's name as used in docs.
func (t FieldType) String() string {
	switch t {
	case String:
		return "string"
	case Int:
		return "int"
	case Bool:
		return "bool"
	case Duration:
		return "duration"
	case List:
		return "list"
	case Bytes:
		return "bytes"
	}
	return fmt.Sprintf("type(%d)", int(t))
}

// Field declares one configuration field.
type Field struct {
	// Name is lower case words separated by dots or dashes, like
	// "poll.interval".
	Name string
	Type FieldType
	// Description is shown in docs and by `tributary connector plugins`.
	Description string
	// Required fields have no default and must be given.
	Required bool
	// Default is the textual value used when the field is not given; empty
	// means the field's zero value.
	Default string
	// Enum, when not empty, lists the allowed values (of a String field, or
	// of every item of a List field).
	Enum []string
	// Min and Max bound Int and Bytes values, and Duration values in
	// nanoseconds (use int64(time.Second)). Build them with Limit.
	Min, Max *int64
	// Secret values are never echoed back in problems or docs.
	Secret bool
	// Check, when set, adds a check on the parsed value (string, int64, bool,
	// time.Duration or []string). It runs only on the plugin's side.
	Check func(value any) error
}

// Limit returns a pointer to n, for Field.Min and Field.Max.
func Limit(n int64) *int64 { return &n }

// ConfigSpec is the declared configuration of a source or a sink.
type ConfigSpec struct {
	Fields []Field
}

// Field returns the field called name.
func (s ConfigSpec) Field(name string) (Field, bool) {
	for _, f := range s.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Config is a validated configuration: every declared field has a parsed
// value (given, defaulted or zero). Getters panic when asked for a field that
// is not declared with that type: that is a bug in the plugin, which the
// sdktest conformance suite finds, not a problem with the user's input.
type Config struct {
	values map[string]any
	given  map[string]string
}

// Raw returns a copy of the configuration as given, before defaults.
func (c Config) Raw() map[string]string {
	out := make(map[string]string, len(c.given))
	for k, v := range c.given {
		out[k] = v
	}
	return out
}

// IsSet reports whether the field was given (and not just defaulted).
func (c Config) IsSet(name string) bool {
	_, ok := c.given[name]
	return ok
}

func (c Config) get(name string, want FieldType) any {
	v, ok := c.values[name]
	if !ok {
		panic(fmt.Sprintf("sdk: config field %q is not declared", name))
	}
	if got := typeOf(v); got != want {
		panic(fmt.Sprintf("sdk: config field %q is a %s, not a %s", name, got, want))
	}
	return v
}

func typeOf(v any) FieldType {
	switch v.(type) {
	case string:
		return String
	case intValue:
		return Int
	case bool:
		return Bool
	case time.Duration:
		return Duration
	case []string:
		return List
	case bytesValue:
		return Bytes
	}
	return 0
}

// intValue and bytesValue keep Int and Bytes apart inside Config.
type (
	intValue   int64
	bytesValue int64
)

// String returns a String field.
func (c Config) String(name string) string { return c.get(name, String).(string) }

// Int returns an Int field.
func (c Config) Int(name string) int64 { return int64(c.get(name, Int).(intValue)) }

// Bool returns a Bool field.
func (c Config) Bool(name string) bool { return c.get(name, Bool).(bool) }

// Duration returns a Duration field.
func (c Config) Duration(name string) time.Duration { return c.get(name, Duration).(time.Duration) }

// List returns a copy of a List field.
func (c Config) List(name string) []string { return slices.Clone(c.get(name, List).([]string)) }

// Bytes returns a Bytes field in bytes.
func (c Config) Bytes(name string) int64 { return int64(c.get(name, Bytes).(bytesValue)) }

// Parse validates raw against the spec and returns the parsed configuration.
// The error, when not nil, is a *ValidationError listing every problem at
// once: unknown fields, missing required fields, values that do not parse or
// break an enum, a bound or a Check.
func (s ConfigSpec) Parse(raw map[string]string) (Config, error) {
	var problems []Problem
	declared := make(map[string]bool, len(s.Fields))
	for _, f := range s.Fields {
		declared[f.Name] = true
	}
	unknown := make([]string, 0)
	for k := range raw {
		if !declared[k] {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		problems = append(problems, Problem{Field: k, Value: raw[k], Reason: "unknown field" + s.suggest(k)})
	}
	cfg := Config{values: make(map[string]any, len(s.Fields)), given: make(map[string]string, len(raw))}
	for _, f := range s.Fields {
		text, given := raw[f.Name]
		if given {
			cfg.given[f.Name] = text
		}
		if !given || (strings.TrimSpace(text) == "" && f.Type != String) {
			if f.Required {
				problems = append(problems, Problem{Field: f.Name, Reason: "required field is missing"})
				continue
			}
			text = f.Default
		}
		v, err := f.parse(text)
		if err != nil {
			problems = append(problems, Problem{Field: f.Name, Value: f.shown(text), Reason: err.Error()})
			continue
		}
		cfg.values[f.Name] = v
	}
	if len(problems) > 0 {
		return Config{}, &ValidationError{Problems: problems}
	}
	return cfg, nil
}

// suggest names a declared field that differs from name only in case or
// separators, a common typo.
func (s ConfigSpec) suggest(name string) string {
	norm := func(x string) string {
		return strings.NewReplacer(".", "", "-", "", "_", "").Replace(strings.ToLower(x))
	}
	for _, f := range s.Fields {
		if norm(f.Name) == norm(name) {
			return fmt.Sprintf(" (did you mean %q?)", f.Name)
		}
	}
	return ""
}

func (f Field) shown(text string) string {
	if f.Secret {
		return ""
	}
	return text
}

// parse turns text into the field's value and checks enum, bounds and Check.
// Empty text is the zero value, which is not checked against enum or bounds:
// it means "not set".
func (f Field) parse(text string) (any, error) {
	v, n, err := f.parseType(text)
	if err != nil {
		return nil, err
	}
	if text != "" {
		if err := f.checkEnum(v); err != nil {
			return nil, err
		}
		if f.Min != nil && n < *f.Min {
			return nil, fmt.Errorf("must be at least %s", f.format(*f.Min))
		}
		if f.Max != nil && n > *f.Max {
			return nil, fmt.Errorf("must be at most %s", f.format(*f.Max))
		}
	}
	if f.Check != nil {
		pub := v
		switch x := v.(type) {
		case intValue:
			pub = int64(x)
		case bytesValue:
			pub = int64(x)
		}
		if err := f.Check(pub); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// parseType parses text by type and returns the value and, for bounded
// types, its number.
func (f Field) parseType(text string) (v any, n int64, err error) {
	trimmed := strings.TrimSpace(text)
	switch f.Type {
	case String:
		return text, 0, nil
	case Int:
		if trimmed == "" {
			return intValue(0), 0, nil
		}
		n, err := strconv.ParseInt(trimmed, 10, 64)
		if err != nil {
			return nil, 0, fmt.Errorf("not an integer")
		}
		return intValue(n), n, nil
	case Bool:
		if trimmed == "" {
			return false, 0, nil
		}
		b, err := strconv.ParseBool(trimmed)
		if err != nil {
			return nil, 0, fmt.Errorf("not a boolean (true or false)")
		}
		return b, 0, nil
	case Duration:
		if trimmed == "" {
			return time.Duration(0), 0, nil
		}
		d, err := time.ParseDuration(trimmed)
		if err != nil {
			return nil, 0, fmt.Errorf("not a duration (like 250ms, 10s, 1h)")
		}
		return d, int64(d), nil
	case List:
		items := []string{}
		for _, item := range strings.Split(text, ",") {
			if item = strings.TrimSpace(item); item != "" {
				items = append(items, item)
			}
		}
		return items, int64(len(items)), nil
	case Bytes:
		if trimmed == "" {
			return bytesValue(0), 0, nil
		}
		n, err := ParseBytes(trimmed)
		if err != nil {
			return nil, 0, err
		}
		return bytesValue(n), n, nil
	}
	return nil, 0, fmt.Errorf("field has unknown type %d", int(f.Type))
}

func (f Field) checkEnum(v any) error {
	if len(f.Enum) == 0 {
		return nil
	}
	var items []string
	switch x := v.(type) {
	case string:
		items = []string{x}
	case []string:
		items = x
	}
	for _, item := range items {
		if !slices.Contains(f.Enum, item) {
			return fmt.Errorf("must be one of %s", strings.Join(f.Enum, ", "))
		}
	}
	return nil
}

// format shows a bound in the field's unit.
func (f Field) format(n int64) string {
	if f.Type == Duration {
		return time.Duration(n).String()
	}
	return strconv.FormatInt(n, 10)
}

var byteUnits = []struct {
	suffix string
	mult   int64
}{
	// Longest suffixes first so "KiB" is not read as "B".
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000},
	{"B", 1},
}

// ParseBytes parses a size such as "512", "64KiB" or "10MB".
func ParseBytes(text string) (int64, error) {
	s := strings.TrimSpace(text)
	mult := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("not a size (like 512, 64KiB, 10MB)")
	}
	if n > (1<<63-1)/mult {
		return 0, fmt.Errorf("size too large")
	}
	return n * mult, nil
}
