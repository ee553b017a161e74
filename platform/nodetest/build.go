package nodetest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// module is the import path the binaries are built from; `go build` resolves
// it from any folder of the module, which is where a test runs.
const module = "github.com/tributary-io/tributary"

// PrebuiltEnv names an environment variable holding the path of a prebuilt
// tributary binary that Build uses instead of building one.
const PrebuiltEnv = "E2E_TRIBUTARY_BIN"

// Binary is a tributary binary and the directory of the connector plugins
// built beside it.
type Binary struct {
	// Path is the tributary binary.
	Path string
	// PluginDir holds one binary per plugin asked for with Plugins, named
	// after the plugin's folder under connectors/; empty when none was.
	PluginDir string
	// tmp is the folder Build made (removed by Remove).
	tmp string
}

// BuildOpt configures Build.
type BuildOpt func(*buildConfig)

type buildConfig struct {
	plugins []string
}

// Plugins builds the connector plugins connectors/<name> into
// Binary.PluginDir, each named name.
func Plugins(names ...string) BuildOpt {
	return func(c *buildConfig) { c.plugins = append(c.plugins, names...) }
}

// Build builds the tributary binary (unless PrebuiltEnv names one) and the
// plugins asked for into a new temporary folder. The caller removes it with
// Remove once its tests have run.
func Build(opts ...BuildOpt) (*Binary, error) {
	var cfg buildConfig
	for _, o := range opts {
		o(&cfg)
	}
	tmp, err := os.MkdirTemp("", "nodetest-")
	if err != nil {
		return nil, fmt.Errorf("make build folder: %w", err)
	}
	b := &Binary{Path: os.Getenv(PrebuiltEnv), tmp: tmp}
	type target struct{ out, pkg string }
	var targets []target
	if b.Path == "" {
		b.Path = filepath.Join(tmp, "tributary")
		targets = append(targets, target{b.Path, module + "/cmd/tributary"})
	}
	if len(cfg.plugins) > 0 {
		b.PluginDir = filepath.Join(tmp, "plugins")
	}
	for _, name := range cfg.plugins {
		targets = append(targets, target{filepath.Join(b.PluginDir, name), module + "/connectors/" + name})
	}
	for _, tg := range targets {
		if out, err := exec.Command("go", "build", "-o", tg.out, tg.pkg).CombinedOutput(); err != nil {
			_ = os.RemoveAll(tmp)
			return nil, fmt.Errorf("go build %s: %w\n%s", tg.pkg, err, out)
		}
	}
	return b, nil
}

// MustBuild is Build for TestMain: when the build fails it prints why and
// exits the test process with status 1, as no test could run.
func MustBuild(opts ...BuildOpt) *Binary {
	b, err := Build(opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nodetest:", err)
		os.Exit(1)
	}
	return b
}

// Remove deletes what Build built. A prebuilt binary is left alone.
func (b *Binary) Remove() {
	_ = os.RemoveAll(b.tmp)
}

// PluginPIDs lists the running processes of plugin name from b.PluginDir:
// the plugin processes the nodes and workers of this test process started.
// It reads /proc, so it finds nothing on systems without one.
func (b *Binary) PluginPIDs(name string) []int { return PIDsOf(filepath.Join(b.PluginDir, name)) }

// PIDsOf lists the running processes whose executable is path. It reads
// /proc, so it finds nothing on systems without one.
func PIDsOf(path string) []int {
	want := path
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && exe == want {
			out = append(out, pid)
		}
	}
	return out
}
