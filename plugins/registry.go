package plugins

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/tributary-io/tributary/plugins/pluginpb"
	"github.com/tributary-io/tributary/sdk"
)

// ErrUnknownPlugin is returned for a plugin name the registry has not discovered.
var ErrUnknownPlugin = errors.New("plugins: unknown plugin")

// Registry knows the plugins found in one directory and creates their
// instances. It is safe for concurrent use; create as many as needed.
type Registry struct {
	cfg Config

	mu      sync.Mutex
	plugins map[string]Manifest
}

// NewRegistry validates cfg (after EnsureDefaults) and returns an empty
// registry; call Discover to fill it.
func NewRegistry(cfg Config) (*Registry, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("plugins config: %w", err)
	}
	return &Registry{cfg: cfg, plugins: map[string]Manifest{}}, nil
}

// Discover scans the plugin directory: every executable regular file is
// started once, must complete the handshake and return a sound manifest,
// and is stopped again. When several binaries declare the same plugin name
// the highest version wins. The registry then holds exactly what this scan
// found. The error lists every binary that failed; the others are usable
// even then. A missing directory means no plugins.
func (r *Registry) Discover(ctx context.Context) error {
	entries, err := os.ReadDir(r.cfg.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		r.cfg.Logger.Info("no plugin directory", "dir", r.cfg.Dir)
		entries = nil
	} else if err != nil {
		return fmt.Errorf("discover plugins in %s: %w", r.cfg.Dir, err)
	}
	found := map[string]Manifest{}
	var errs []error
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("discover plugins in %s: %w", r.cfg.Dir, err)
		}
		path := filepath.Join(r.cfg.Dir, e.Name())
		if !isExecutable(path) || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		m, err := r.probe(ctx, path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		prev, dup := found[m.Name]
		switch {
		case !dup || m.Version.Compare(prev.Version) > 0:
			if dup {
				r.cfg.Logger.Info("ignoring an older plugin version", "plugin", m.Name, "version", prev.Version.String(), "path", prev.Path, "newer", m.Version.String())
			}
			found[m.Name] = m
		case m.Version.Compare(prev.Version) == 0:
			errs = append(errs, fmt.Errorf("plugin %s %s: both %s and %s provide it; using %s", m.Name, m.Version, prev.Path, path, prev.Path))
		default:
			r.cfg.Logger.Info("ignoring an older plugin version", "plugin", m.Name, "version", m.Version.String(), "path", path, "newer", prev.Version.String())
		}
	}
	r.mu.Lock()
	r.plugins = found
	r.mu.Unlock()
	for _, m := range found {
		r.cfg.Logger.Info("plugin discovered", "plugin", m.Name, "version", m.Version.String(), "kinds", fmt.Sprint(m.Kinds), "path", m.Path)
	}
	return errors.Join(errs...)
}

// isExecutable reports whether path is a regular file someone may execute.
func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

// probe starts the binary at path, reads its manifest and stops it.
func (r *Registry) probe(ctx context.Context, path string) (Manifest, error) {
	p, err := startProcess(&r.cfg, path)
	if err != nil {
		return Manifest{}, err
	}
	defer p.stop()
	return p.manifest(ctx)
}

// Plugins lists the discovered plugins by name.
func (r *Registry) Plugins() []Manifest {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Manifest, 0, len(r.plugins))
	for _, m := range r.plugins {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Manifest) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Plugin returns the manifest of the plugin called name.
func (r *Registry) Plugin(name string) (Manifest, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.plugins[name]
	return m, ok
}

func (r *Registry) lookup(name string, kind sdk.Kind) (Manifest, error) {
	m, ok := r.Plugin(name)
	if !ok {
		return Manifest{}, fmt.Errorf("%w %q in %s", ErrUnknownPlugin, name, r.cfg.Dir)
	}
	if !m.Has(kind) {
		return Manifest{}, fmt.Errorf("plugin %s has no %s", name, kind)
	}
	return m, nil
}

// Validate asks the plugin for every problem of raw as a configuration of
// kind: the declared spec, the plugin's own field checks and its cross-field
// hook. It starts the plugin for the call and stops it again.
func (r *Registry) Validate(ctx context.Context, name string, kind sdk.Kind, raw map[string]string) ([]sdk.Problem, error) {
	m, err := r.lookup(name, kind)
	if err != nil {
		return nil, err
	}
	p, err := startProcess(&r.cfg, m.Path)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	cctx, cancel := p.callCtx(ctx)
	defer cancel()
	resp, err := p.plugin.Validate(cctx, &pluginpb.ValidateRequest{Kind: sdk.KindToProto(kind), Config: raw})
	if err != nil {
		return nil, fmt.Errorf("validate %s config of %s: %w", kind, name, p.why(err))
	}
	return sdk.ProblemsFromProto(resp.Problems), nil
}

// ParseConfig validates raw through the plugin (see Validate) and returns it
// parsed against the plugin's spec, ready for Open. An invalid configuration
// is a *sdk.ValidationError listing every problem.
func (r *Registry) ParseConfig(ctx context.Context, name string, kind sdk.Kind, raw map[string]string) (sdk.Config, error) {
	problems, err := r.Validate(ctx, name, kind, raw)
	if err != nil {
		return sdk.Config{}, err
	}
	if len(problems) > 0 {
		return sdk.Config{}, fmt.Errorf("%s %s: %w", name, kind, &sdk.ValidationError{Problems: problems})
	}
	m, _ := r.Plugin(name)
	spec, _ := m.Spec(kind)
	cfg, err := spec.Parse(raw)
	if err != nil {
		return sdk.Config{}, fmt.Errorf("%s %s: %w", name, kind, err)
	}
	return cfg, nil
}
