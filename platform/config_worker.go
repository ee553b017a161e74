package platform

import (
	"fmt"
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
