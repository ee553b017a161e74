package platform

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tributary-io/tributary/plugins"
)

// WorkerSection is the `worker:` section: the connector and pipeline worker
// a node runs beside its broker (package pipelines/deploy).
type WorkerSection struct {
	// Disabled turns the worker off; the REST API for connectors and
	// pipelines then answers 503. Default false: every node runs a worker.
	Disabled bool `yaml:"disabled"`
	// PluginDir holds the connector plugin binaries. Default ./bin/plugins
	// (flag --plugin-dir of serve).
	PluginDir string `yaml:"plugin_dir"`
	// ID names the worker in the workers' group; it must differ between
	// live workers and stay the same across restarts. Default node-<node_id>.
	ID string `yaml:"id"`
	// SessionTimeout is how long a dead worker's connector tasks and
	// pipelines wait before they move to another worker. Default 10s.
	SessionTimeout time.Duration `yaml:"session_timeout"`
}

// withDefaults returns s with every zero field defaulted for node id.
func (s WorkerSection) withDefaults(nodeID int32) WorkerSection {
	if s.PluginDir == "" {
		s.PluginDir = plugins.DefaultDir
	}
	if s.ID == "" {
		s.ID = fmt.Sprintf("node-%d", nodeID)
	}
	if s.SessionTimeout == 0 {
		s.SessionTimeout = 10 * time.Second
	}
	return s
}

func (s WorkerSection) problems() []error {
	if s.SessionTimeout != 0 && s.SessionTimeout < time.Second {
		return []error{fmt.Errorf("worker.session_timeout=%s: must be at least 1s", s.SessionTimeout)}
	}
	return nil
}

// workerSettings are the worker: keys as environment variables and flags.
// The plugin directory and worker id have the short flags --plugin-dir and
// --worker-id.
func workerSettings() []setting {
	return []setting{
		{key: "worker.disabled", usage: "run no connector/pipeline worker on this node", isBool: true,
			set: func(c *Config, v string) error {
				b, err := strconv.ParseBool(strings.TrimSpace(v))
				if err != nil {
					return fmt.Errorf("worker.disabled %q: want true or false", v)
				}
				c.Worker.Disabled = b
				return nil
			}},
		{key: "worker.plugin_dir", flag: "plugin-dir", usage: "directory of connector plugin binaries (default ./bin/plugins)",
			set: func(c *Config, v string) error { c.Worker.PluginDir = strings.TrimSpace(v); return nil }},
		{key: "worker.id", flag: "worker-id", usage: "this node's worker id, unique among live workers (default node-<node_id>)",
			set: func(c *Config, v string) error { c.Worker.ID = strings.TrimSpace(v); return nil }},
		{key: "worker.session_timeout", usage: "how long a dead worker's tasks wait before they move (default 10s)",
			set: durationSetting("worker.session_timeout", func(c *Config, d time.Duration) { c.Worker.SessionTimeout = d })},
	}
}
