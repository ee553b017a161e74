package pipelines

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tributary-io/tributary/pipelines/process"
	"github.com/tributary-io/tributary/pipelines/spec"
	"github.com/tributary-io/tributary/pipelines/stateful"
	"github.com/tributary-io/tributary/sdk"
)

// ConnectorValidator checks a connector's configuration against its
// plugin's config spec. *plugins.Registry is one.
type ConnectorValidator interface {
	Validate(ctx context.Context, plugin string, kind sdk.Kind, raw map[string]string) ([]sdk.Problem, error)
}

// Options tune Load.
type Options struct {
	// Connectors validates connector configs. Nil checks their structure
	// only, and Bundle.Notes says so.
	Connectors ConnectorValidator
}

// Bundle is a validated set of manifests with every pipeline compiled.
type Bundle struct {
	Manifests []*spec.Manifest
	// Programs holds each pipeline's compiled processors by name. For a
	// pipeline with stateful steps (spec.Pipeline.Stateful) it holds the
	// stateless ones only: runner and runner.Offline run such a pipeline
	// from its spec, through pipelines/stateful.
	Programs map[string]*process.Program
	// Notes tell what validation could not cover, such as connector configs
	// when no plugin directory was given.
	Notes []string
}

// Load reads manifests from files and directories (every *.yaml and *.yml
// below them, except *_test.yaml test files and hidden folders), validates
// all of them and compiles every pipeline. It returns every problem at
// once, sorted by file and position; the bundle is nil when there is any.
func Load(ctx context.Context, paths []string, opts Options) (*Bundle, spec.Problems) {
	var files []string
	var probs spec.Problems
	for _, p := range paths {
		found, err := manifestFiles(p)
		if err != nil {
			probs.Add(spec.Pos{File: p}, "", "%v", err)
			continue
		}
		files = append(files, found...)
	}
	var ms []*spec.Manifest
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			probs.Add(spec.Pos{File: f}, "", "read: %v", err)
			continue
		}
		got, ps := spec.Parse(f, data)
		probs = append(probs, ps...)
		if len(got) == 0 && len(ps) == 0 {
			probs.Add(spec.Pos{File: f}, "", "no manifests in the file")
		}
		ms = append(ms, got...)
	}
	return check(ctx, ms, probs, opts)
}

// LoadBytes is Load for one file's contents, named file in problems.
func LoadBytes(ctx context.Context, file string, data []byte, opts Options) (*Bundle, spec.Problems) {
	ms, probs := spec.Parse(file, data)
	return check(ctx, ms, probs, opts)
}

// manifestFiles lists path itself when it is a file, or the manifest files
// below it when it is a directory.
func manifestFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read manifests: %w", err)
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	var out []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != path && strings.HasPrefix(name, ".") {
				return filepath.SkipDir
			}
			return nil
		}
		ext := filepath.Ext(name)
		if (ext == ".yaml" || ext == ".yml") && !strings.HasSuffix(strings.TrimSuffix(name, ext), "_test") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read manifests in %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no *.yaml or *.yml manifests in directory %s", path)
	}
	slices.Sort(out)
	return out, nil
}

// check runs what needs more than one document: duplicate names,
// expression compilation and connector configs.
func check(ctx context.Context, ms []*spec.Manifest, probs spec.Problems, opts Options) (*Bundle, spec.Problems) {
	b := &Bundle{Manifests: ms, Programs: map[string]*process.Program{}}
	seen := map[string]*spec.Manifest{}
	connectors := 0
	for _, m := range ms {
		if m.Name != "" {
			id := string(m.Kind) + "/" + m.Name
			if prev, dup := seen[id]; dup {
				probs.Add(m.NamePos, "metadata.name", "%s %q is already defined at %s", m.Kind, m.Name, prev.NamePos)
			} else {
				seen[id] = m
			}
		}
		switch {
		case m.Pipeline != nil:
			prog, ps := compilePipeline(m)
			probs = append(probs, ps...)
			if prog != nil {
				b.Programs[m.Name] = prog
			}
			if c := m.Pipeline.Input.Connector; c != nil {
				connectors++
				probs = append(probs, checkConnector(ctx, opts, *c, sdk.KindSource)...)
			}
			for _, o := range m.Pipeline.Outputs {
				if o.Connector != nil {
					connectors++
					probs = append(probs, checkConnector(ctx, opts, *o.Connector, sdk.KindSink)...)
				}
			}
		case m.Connector != nil && (m.Connector.Type == spec.Source || m.Connector.Type == spec.Sink):
			connectors++
			kind := sdk.KindSource
			if m.Connector.Type == spec.Sink {
				kind = sdk.KindSink
			}
			probs = append(probs, checkConnector(ctx, opts, m.Connector.ConnectorRef, kind)...)
		}
	}
	if connectors > 0 && opts.Connectors == nil {
		b.Notes = append(b.Notes, fmt.Sprintf("%d connector config(s) were checked for structure only: give a plugin directory to validate them against the plugins' config specs", connectors))
	}
	probs.Sort()
	probs = probs.Dedupe()
	if len(probs) > 0 {
		return nil, probs
	}
	return b, nil
}

// compilePipeline compiles a pipeline's processors. One with stateful
// steps is checked by compiling its stateful plan, which runners build
// again from the spec; its Program then holds the stateless processors
// only.
func compilePipeline(m *spec.Manifest) (*process.Program, spec.Problems) {
	if !m.Pipeline.Stateful() {
		return process.Compile(m.Name, m.Pipeline)
	}
	if _, probs := stateful.Compile(m.Name, m.Pipeline); len(probs) > 0 {
		return nil, probs
	}
	return stateful.Stateless(m.Name, m.Pipeline)
}

// checkConnector asks the plugin about ref's config and places each of its
// problems on the config field it concerns.
func checkConnector(ctx context.Context, opts Options, ref spec.ConnectorRef, kind sdk.Kind) spec.Problems {
	if opts.Connectors == nil || ref.Plugin == "" {
		return nil
	}
	var probs spec.Problems
	found, err := opts.Connectors.Validate(ctx, ref.Plugin, kind, ref.Config.Values)
	if err != nil {
		probs.Add(ref.PluginPos, join(ref.Path, "plugin"), "%v", err)
		return probs
	}
	for _, p := range found {
		pos, ok := ref.Config.KeyPos[p.Field]
		if !ok {
			pos = ref.Config.Pos
		}
		if ref.Config.Pos.Line == 0 {
			pos = ref.Pos
		}
		probs.Add(pos, join(ref.Path, "config."+p.Field), "%s", p.Reason)
	}
	return probs
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

// ErrNoPipeline is returned by Bundle.Pipeline when the name matches none.
var ErrNoPipeline = errors.New("pipelines: no such pipeline")

// Pipeline returns the pipeline called name, or the only pipeline when name
// is empty.
func (b *Bundle) Pipeline(name string) (*spec.Manifest, *process.Program, error) {
	var all []*spec.Manifest
	for _, m := range b.Manifests {
		if m.Pipeline == nil {
			continue
		}
		if m.Name == name {
			return m, b.Programs[m.Name], nil
		}
		all = append(all, m)
	}
	switch {
	case name == "" && len(all) == 1:
		return all[0], b.Programs[all[0].Name], nil
	case name == "" && len(all) == 0:
		return nil, nil, fmt.Errorf("%w: the manifests declare no Pipeline", ErrNoPipeline)
	case name == "":
		names := make([]string, len(all))
		for i, m := range all {
			names[i] = m.Name
		}
		return nil, nil, fmt.Errorf("%w: several pipelines (%s); name one", ErrNoPipeline, strings.Join(names, ", "))
	}
	return nil, nil, fmt.Errorf("%w called %q", ErrNoPipeline, name)
}

// Topics returns the Topic manifests.
func (b *Bundle) Topics() []*spec.Manifest {
	var out []*spec.Manifest
	for _, m := range b.Manifests {
		if m.Topic != nil {
			out = append(out, m)
		}
	}
	return out
}
