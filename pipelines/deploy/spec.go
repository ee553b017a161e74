package deploy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Internal topics.
const (
	ConfigsTopic = "__tributary_configs"
	StatusTopic  = "__tributary_status"
	// WorkersGroup is the group every worker joins.
	WorkersGroup = "__tributary_workers"
)

// Kind is what a spec deploys.
type Kind string

// The kinds of spec.
const (
	KindConnector Kind = "connector"
	KindPipeline  Kind = "pipeline"
)

// Spec is one deployed connector or pipeline as stored in ConfigsTopic.
type Spec struct {
	Kind Kind   `json:"kind"`
	Name string `json:"name"`
	// Config is a connector's flat configuration (see package connect).
	Config map[string]string `json:"config,omitempty"`
	// Manifest is a pipeline's manifest, as YAML text.
	Manifest string `json:"manifest,omitempty"`
	// Paused stops every unit of the spec until it is resumed.
	Paused bool `json:"paused,omitempty"`
	// Restarts and TaskRestarts count restart requests; a change restarts
	// the units concerned.
	Restarts     int64         `json:"restarts,omitempty"`
	TaskRestarts map[int]int64 `json:"task_restarts,omitempty"`
	Updated      time.Time     `json:"updated"`

	// bridge holds the connectors and topics of a pipeline's connector
	// input and outputs (bridge.go), worked out once when the spec is read.
	bridge *bridge
}

// Key is the spec's record key.
func (s *Spec) Key() string { return Key(s.Kind, s.Name) }

// Key is the record key of the spec of kind called name.
func Key(kind Kind, name string) string { return string(kind) + "/" + name }

// SameContent reports whether a and b deploy the same thing (configuration
// or manifest), ignoring pause state, restart counters and times.
func SameContent(a, b *Spec) bool {
	return a.Kind == b.Kind && a.Name == b.Name && maps.Equal(a.Config, b.Config) &&
		strings.TrimSpace(a.Manifest) == strings.TrimSpace(b.Manifest)
}

// fingerprint identifies what a running unit of the spec was started with;
// a unit whose fingerprint changes is restarted.
func (s *Spec) fingerprint(task int) string {
	h := sha256.New()
	keys := slices.Sorted(maps.Keys(s.Config))
	for _, k := range keys {
		fmt.Fprintf(h, "%q=%q\n", k, s.Config[k])
	}
	fmt.Fprintf(h, "%s\n%d\n%d\n", s.Manifest, s.Restarts, s.TaskRestarts[task])
	return hex.EncodeToString(h.Sum(nil)[:8])
}

func decodeSpec(v []byte) (*Spec, error) {
	var s Spec
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, fmt.Errorf("decode spec: %w", err)
	}
	return &s, nil
}

// Status is the state of one unit as stored in StatusTopic.
type Status struct {
	// State is one of pluginmetrics.States.
	State  string `json:"state"`
	Worker string `json:"worker_id"`
	// Trace is the error of a failed or restarting unit.
	Trace   string    `json:"trace,omitempty"`
	Updated time.Time `json:"updated"`
}

// Unit ids.
func connectorUnit(name string, task int) string {
	return "connector/" + name + "/" + strconv.Itoa(task)
}

func pipelineUnit(name string) string { return "pipeline/" + name }

// statusKey is the status record key of a unit: its id.
func statusKey(unit string) string { return unit }
