package sdk

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Problem is one reason a configuration is invalid.
type Problem struct {
	// Field is the field's name.
	Field string
	// Value is the offending value; empty for missing and secret fields.
	Value string
	// Reason says what is wrong, in words a user can act on.
	Reason string
}

// String renders the problem as `field "x" = "v": reason`.
func (p Problem) String() string {
	if p.Value == "" {
		return fmt.Sprintf("field %q: %s", p.Field, p.Reason)
	}
	return fmt.Sprintf("field %q = %q: %s", p.Field, p.Value, p.Reason)
}

// ValidationError lists every problem found in a configuration.
type ValidationError struct {
	Problems []Problem
}

// Error lists all problems on one line.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	noun := "problems"
	if len(parts) == 1 {
		noun = "problem"
	}
	return fmt.Sprintf("invalid config (%d %s): %s", len(parts), noun, strings.Join(parts, "; "))
}

// Problems returns the problems of err when it is or wraps a *ValidationError.
func Problems(err error) []Problem {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return ve.Problems
	}
	return nil
}

var fieldNameRE = regexp.MustCompile(`^[a-z][a-z0-9]*([._-][a-z0-9]+)*$`)

// ReservedField reports whether name is a connector configuration key the
// connector runtime consumes itself (pipelines/connect: name, plugin, type,
// topic, topics, tasks.max, batch.max.records and every errors.* key). The
// runtime never passes such a key to the plugin, so a plugin field of that
// name could never be set; Check refuses it.
func ReservedField(name string) bool {
	switch name {
	case "name", "plugin", "type", "topic", "topics", "tasks.max", "batch.max.records":
		return true
	}
	return strings.HasPrefix(name, "errors.")
}

// Check reports every mistake in the spec itself: bad or duplicate names,
// names reserved for the connector runtime (ReservedField),
// unknown types, missing descriptions, required fields with defaults,
// defaults that do not validate, enums on types that cannot have them and
// inverted bounds. The sdktest conformance suite and Serve run it.
func (s ConfigSpec) Check() error {
	var errs []error
	seen := make(map[string]bool, len(s.Fields))
	for i, f := range s.Fields {
		name := f.Name
		if name == "" {
			name = fmt.Sprintf("#%d", i)
		}
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("field %s: %s", name, fmt.Sprintf(format, args...)))
		}
		if !fieldNameRE.MatchString(f.Name) {
			bad("name must be lower case words separated by '.', '-' or '_'")
		}
		if seen[f.Name] {
			bad("declared twice")
		}
		if ReservedField(f.Name) {
			bad("the name is reserved for the connector runtime, which never passes it to the plugin: prefix it, as in source.%s", f.Name)
		}
		seen[f.Name] = true
		if f.Type < String || f.Type > Bytes {
			bad("unknown type %d", int(f.Type))
			continue
		}
		if strings.TrimSpace(f.Description) == "" {
			bad("no description")
		}
		if f.Required && f.Default != "" {
			bad("required fields cannot have a default")
		}
		if len(f.Enum) > 0 && f.Type != String && f.Type != List {
			bad("enum is only for string and list fields")
		}
		if (f.Min != nil || f.Max != nil) && f.Type != Int && f.Type != Duration && f.Type != Bytes {
			bad("min/max are only for int, duration and bytes fields")
		}
		if f.Min != nil && f.Max != nil && *f.Min > *f.Max {
			bad("min %d is above max %d", *f.Min, *f.Max)
		}
		if f.Default != "" {
			if _, err := f.parse(f.Default); err != nil {
				bad("default %q: %v", f.Default, err)
			}
		}
	}
	return errors.Join(errs...)
}
