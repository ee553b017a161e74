package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
)

// SDKVersion is the version of this SDK. A plugin reports the SDK it was built
// with in its manifest and the host refuses a plugin whose SDK major version
// differs from its own.
const SDKVersion = "1.0.0"

// Kind is what a plugin can be used as.
type Kind int

const (
	// KindSource reads from an external system into topics.
	KindSource Kind = iota + 1
	// KindSink writes records from topics to an external system.
	KindSink
)

// String returns "source" or "sink".
func (k Kind) String() string {
	switch k {
	case KindSource:
		return "source"
	case KindSink:
		return "sink"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Source reads records from an external system. The host calls its methods
// from one goroutine at a time (Commit may come between Reads), so an
// implementation needs no locking for calls made by the host.
type Source interface {
	// Open prepares the source. pos is the last position the host committed,
	// or nil when nothing was committed yet (start from the configured start).
	// ctx bounds Open only; do not keep it for background work.
	Open(ctx context.Context, cfg Config, pos Position) error
	// Read returns up to max records, each with its Position. It waits until
	// at least one record is ready or ctx is done; when ctx ends first it
	// returns no records and either nil or ctx's error, which both mean
	// "nothing yet".
	Read(ctx context.Context, max int) ([]Record, error)
	// Close releases everything Open acquired. It is called once, also after
	// a failed Open.
	Close() error
}

// Committer is implemented by sources that want to know which positions the
// host has durably committed, for example to acknowledge messages upstream or
// to delete processed files. Committing is advisory: a source must still
// resume correctly from whatever position Open receives.
type Committer interface {
	// Commit reports committed positions in read order; the last is the newest.
	Commit(ctx context.Context, positions []Position) error
}

// Sink writes records to an external system. The host calls its methods from
// one goroutine at a time.
type Sink interface {
	// Open prepares the sink. ctx bounds Open only.
	Open(ctx context.Context, cfg Config) error
	// Write accepts a batch. The records need not be durable before Flush.
	Write(ctx context.Context, records []Record) error
	// Flush makes every record accepted by Write so far durable. The host
	// commits consumer offsets only after Flush returns nil.
	Flush(ctx context.Context) error
	// Close releases everything Open acquired without flushing. It is called
	// once, also after a failed Open.
	Close() error
}

// Env is what the SDK hands a plugin when it creates an instance.
type Env struct {
	// Logger writes to the host's log, tagged with the plugin's name.
	Logger *slog.Logger
}

// SourceDef declares a plugin's source.
type SourceDef struct {
	// Spec declares the configuration fields.
	Spec ConfigSpec
	// Validate, when set, adds checks that involve several fields. It runs
	// only when every field parsed, so it may read any of them.
	Validate func(Config) []Problem
	// New creates an unopened instance.
	New func(Env) Source
}

// SinkDef declares a plugin's sink.
type SinkDef struct {
	// Spec declares the configuration fields.
	Spec ConfigSpec
	// Validate, when set, adds checks that involve several fields.
	Validate func(Config) []Problem
	// New creates an unopened instance.
	New func(Env) Sink
}

// Plugin is everything a plugin binary serves.
type Plugin struct {
	// Name identifies the plugin in connector configs: lower case letters,
	// digits and dashes, starting with a letter.
	Name string
	// Version is the plugin's semantic version (MAJOR.MINOR.PATCH).
	Version string
	// Description is one line for listings.
	Description string
	// Source is nil when the plugin has no source.
	Source *SourceDef
	// Sink is nil when the plugin has no sink.
	Sink *SinkDef
}

var pluginNameRE = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// Check reports every mistake in the plugin's declaration: name, version,
// missing constructors and config specs that are not sound.
func (p *Plugin) Check() error {
	var errs []error
	if !pluginNameRE.MatchString(p.Name) {
		errs = append(errs, fmt.Errorf("plugin name %q: want lower case letters, digits and dashes, starting with a letter", p.Name))
	}
	if _, err := ParseVersion(p.Version); err != nil {
		errs = append(errs, fmt.Errorf("plugin version: %w", err))
	}
	if p.Source == nil && p.Sink == nil {
		errs = append(errs, errors.New("plugin declares neither a source nor a sink"))
	}
	if p.Source != nil {
		if p.Source.New == nil {
			errs = append(errs, errors.New("source: New is nil"))
		}
		if err := p.Source.Spec.Check(); err != nil {
			errs = append(errs, fmt.Errorf("source spec: %w", err))
		}
	}
	if p.Sink != nil {
		if p.Sink.New == nil {
			errs = append(errs, errors.New("sink: New is nil"))
		}
		if err := p.Sink.Spec.Check(); err != nil {
			errs = append(errs, fmt.Errorf("sink spec: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Kinds lists what the plugin can be used as.
func (p *Plugin) Kinds() []Kind {
	var ks []Kind
	if p.Source != nil {
		ks = append(ks, KindSource)
	}
	if p.Sink != nil {
		ks = append(ks, KindSink)
	}
	return ks
}

// Spec returns the config spec of kind, or false when the plugin has no such kind.
func (p *Plugin) Spec(kind Kind) (ConfigSpec, bool) {
	switch {
	case kind == KindSource && p.Source != nil:
		return p.Source.Spec, true
	case kind == KindSink && p.Sink != nil:
		return p.Sink.Spec, true
	}
	return ConfigSpec{}, false
}

// ParseConfig validates raw against the spec of kind and the kind's Validate
// hook. On failure the error is a *ValidationError listing every problem.
func (p *Plugin) ParseConfig(kind Kind, raw map[string]string) (Config, error) {
	spec, ok := p.Spec(kind)
	if !ok {
		return Config{}, fmt.Errorf("plugin %s has no %s", p.Name, kind)
	}
	cfg, err := spec.Parse(raw)
	if err != nil {
		return Config{}, err
	}
	var hook func(Config) []Problem
	if kind == KindSource {
		hook = p.Source.Validate
	} else {
		hook = p.Sink.Validate
	}
	if hook != nil {
		if problems := hook(cfg); len(problems) > 0 {
			return Config{}, &ValidationError{Problems: problems}
		}
	}
	return cfg, nil
}
