package runner

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tributary-io/tributary/pipelines/process"
	"github.com/tributary-io/tributary/pipelines/spec"
)

// ErrConnectorsNotSupported is returned for a pipeline whose input or an
// output is a connector: workers (package deploy) run those connectors
// next to the runner, which they hand the pipeline with bridge topics in
// their place.
var ErrConnectorsNotSupported = errors.New("runner: connector inputs and outputs run on workers (deploy the pipeline with tributary apply); the runner reads and writes topics only")

// Config configures a Runner.
type Config struct {
	// Name is the pipeline's name. Its consumer group is
	// tributary-pipeline-<Name>.
	Name string
	// Spec is the validated pipeline and Program its compiled processors.
	Spec    *spec.Pipeline
	Program *process.Program
	// Seeds are the bootstrap brokers.
	Seeds []string
	// InstanceID tells apart processes that run the same pipeline. With a
	// consumer's index it forms the consumer's static group membership
	// (group.instance.id) and its transactional id, so a restarted process
	// takes over its predecessor's partitions at once and fences its open
	// transaction. Two live processes must not share it. Default: the host
	// name.
	InstanceID string
	// ClientOpts are added to every franz-go client (TLS, SASL, ...).
	ClientOpts []kgo.Opt
	// Logger receives the runner's events. Default slog.Default().
	Logger *slog.Logger
	// MaxPollRecords bounds the records of one batch, which is one
	// transaction under exactly-once. Default 2000.
	MaxPollRecords int
	// SessionTimeout is the group session timeout: how long a consumer that
	// died without a restart keeps its partitions. Default 30s.
	SessionTimeout time.Duration
	// TransactionTimeout bounds an open transaction; a crashed process's
	// transaction is aborted after it unless a restart fences it first.
	// Default 60s.
	TransactionTimeout time.Duration
	// StopTimeout bounds finishing the batch in hand when Run's context is
	// cancelled. Default 15s.
	StopTimeout time.Duration
	// CommitInterval is how long one transaction collects work in a
	// pipeline with stateful steps, which runs on the streams runtime (the
	// others commit one transaction per polled batch). Default 100ms.
	CommitInterval time.Duration
	// Records, when set, receives each committed batch's counts (the ones
	// Stats adds up), so a caller can export them without polling Stats.
	Records RecordCounter
}

// RecordCounter receives a pipeline's record counts, once per committed
// batch (not per record), from every consumer of the runner at once.
type RecordCounter interface {
	AddRecords(in, out, filtered, errors, deadLettered uint64)
}

// BatchObserver is what a RecordCounter may also be: it then gets the
// latency of every committed batch, from the poll that returned it to its
// commit (topic-to-topic pipelines without stateful steps).
type BatchObserver interface {
	ObserveBatch(latency time.Duration)
}

// EnsureDefaults fills every zero field with its default.
func (c *Config) EnsureDefaults() {
	if c.InstanceID == "" {
		c.InstanceID, _ = os.Hostname()
		if c.InstanceID == "" {
			c.InstanceID = "0"
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MaxPollRecords == 0 {
		c.MaxPollRecords = 2000
	}
	if c.SessionTimeout == 0 {
		c.SessionTimeout = 30 * time.Second
	}
	if c.TransactionTimeout == 0 {
		c.TransactionTimeout = 60 * time.Second
	}
	if c.StopTimeout == 0 {
		c.StopTimeout = 15 * time.Second
	}
	if c.CommitInterval == 0 {
		c.CommitInterval = 100 * time.Millisecond
	}
}

// Validate returns every problem of the configuration at once.
func (c *Config) Validate() error {
	var errs []error
	if c.Name == "" {
		errs = append(errs, errors.New("Name is empty"))
	}
	switch {
	case c.Spec == nil:
		errs = append(errs, errors.New("Spec and Program are required"))
	case c.Program == nil && !c.Spec.Stateful():
		// A stateful pipeline's plan is compiled from Spec by New.
		errs = append(errs, errors.New("Program is required"))
	case !c.Spec.TopicToTopic():
		errs = append(errs, fmt.Errorf("pipeline %s: %w", c.Name, ErrConnectorsNotSupported))
	}
	if !instanceRE.MatchString(c.InstanceID) {
		errs = append(errs, fmt.Errorf("InstanceID %q: use 1 to 100 letters, digits, '.', '_' or '-'", c.InstanceID))
	}
	if len(c.Seeds) == 0 {
		errs = append(errs, errors.New("Seeds is empty"))
	}
	if c.MaxPollRecords < 1 {
		errs = append(errs, fmt.Errorf("MaxPollRecords = %d: must be at least 1", c.MaxPollRecords))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"SessionTimeout", c.SessionTimeout}, {"TransactionTimeout", c.TransactionTimeout}, {"StopTimeout", c.StopTimeout}, {"CommitInterval", c.CommitInterval}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s = %s: must be positive", d.name, d.v))
		}
	}
	return errors.Join(errs...)
}

// instanceRE is what Kafka accepts in a group.instance.id, shorter.
var instanceRE = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,100}$`)

// Group is the consumer group of the pipeline called name.
func Group(name string) string { return "tributary-pipeline-" + name }
