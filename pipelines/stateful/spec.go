package stateful

import (
	"errors"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
)

// Spec is a stateful pipeline: input → timestamp → join → key → window →
// aggregate → output. Every step but input and output is optional, but a
// window needs an aggregate and an aggregate needs a key.
type Spec struct {
	Input     string         `yaml:"input"`
	Timestamp string         `yaml:"timestamp"`
	Join      *JoinSpec      `yaml:"join"`
	Key       string         `yaml:"key"`
	Window    *WindowSpec    `yaml:"window"`
	Aggregate *AggregateSpec `yaml:"aggregate"`
	Output    string         `yaml:"output"`
}

// JoinSpec enriches each record with the row of a table topic that has the
// record's key.
type JoinSpec struct {
	// Table is the topic read as a table (JSON values).
	Table string `yaml:"table"`
	// As is the value field receiving the row. Default "joined".
	As string `yaml:"as"`
	// Inner drops records without a row. Default false (left join).
	Inner bool `yaml:"inner"`
}

// WindowSpec configures a windowed aggregate.
type WindowSpec struct {
	// Type is tumbling, hopping or session.
	Type    string        `yaml:"type"`
	Size    time.Duration `yaml:"size"`
	Advance time.Duration `yaml:"advance"`
	Gap     time.Duration `yaml:"gap"`
	Grace   time.Duration `yaml:"grace"`
	// Emit is update (every change, the default) or final (once, when the
	// window closes).
	Emit string `yaml:"emit"`
}

// AggregateSpec names the aggregation and the field it reads.
type AggregateSpec struct {
	// Op is count, sum, min, max, avg or collect.
	Op string `yaml:"op"`
	// Field is the expression aggregated (all ops but count).
	Field string `yaml:"field"`
}

// Parse decodes a Spec from YAML and validates it, returning every problem.
func Parse(b []byte) (*Spec, error) {
	var s Spec
	dec := yaml.NewDecoder(bytesReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("stateful spec: %w", err)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// Validate returns every problem of the spec at once.
func (s *Spec) Validate() error {
	var errs []error
	bad := func(f string, a ...any) { errs = append(errs, fmt.Errorf("stateful spec: "+f, a...)) }
	if s.Input == "" {
		bad("input is required")
	}
	if s.Output == "" {
		bad("output is required")
	}
	if s.Join != nil && s.Join.Table == "" {
		bad("join.table is required")
	}
	if s.Window != nil && s.Aggregate == nil {
		bad("a window needs an aggregate")
	}
	if s.Aggregate != nil {
		if s.Key == "" {
			bad("aggregate needs a key expression")
		}
		switch s.Aggregate.Op {
		case "count":
		case "sum", "min", "max", "avg", "collect":
			if s.Aggregate.Field == "" {
				bad("aggregate %s needs a field", s.Aggregate.Op)
			}
		default:
			bad("aggregate.op %q: want count, sum, min, max, avg or collect", s.Aggregate.Op)
		}
	}
	if w := s.Window; w != nil {
		switch w.Type {
		case "tumbling", "hopping":
			if w.Size <= 0 {
				bad("window.size must be positive")
			}
			if w.Type == "hopping" && (w.Advance <= 0 || w.Advance > w.Size) {
				bad("window.advance must be in (0, size]")
			}
		case "session":
			if w.Gap <= 0 {
				bad("window.gap must be positive")
			}
		default:
			bad("window.type %q: want tumbling, hopping or session", w.Type)
		}
		if w.Grace < 0 {
			bad("window.grace must not be negative")
		}
		if w.Emit != "" && w.Emit != "update" && w.Emit != "final" {
			bad("window.emit %q: want update or final", w.Emit)
		}
	}
	return errors.Join(errs...)
}
