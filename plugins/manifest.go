package plugins

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tributary-io/tributary/plugins/pluginpb"
	"github.com/tributary-io/tributary/sdk"
)

// Manifest describes a discovered plugin.
type Manifest struct {
	Name        string
	Version     sdk.Version
	Description string
	Kinds       []sdk.Kind
	SourceSpec  sdk.ConfigSpec
	SinkSpec    sdk.ConfigSpec
	// SDKVersion is the SDK the plugin was built with.
	SDKVersion sdk.Version
	// Path is the plugin binary.
	Path string
}

// Has reports whether the plugin can be used as kind.
func (m Manifest) Has(kind sdk.Kind) bool {
	for _, k := range m.Kinds {
		if k == kind {
			return true
		}
	}
	return false
}

// Spec returns the config spec of kind.
func (m Manifest) Spec(kind sdk.Kind) (sdk.ConfigSpec, bool) {
	switch {
	case !m.Has(kind):
		return sdk.ConfigSpec{}, false
	case kind == sdk.KindSource:
		return m.SourceSpec, true
	}
	return m.SinkSpec, true
}

// manifestFromProto checks a manifest from the wire and converts it.
func manifestFromProto(pm *pluginpb.ManifestResponse, path string) (Manifest, error) {
	var errs []error
	m := Manifest{Name: pm.Name, Description: pm.Description, Path: path}
	if m.Name == "" || strings.ContainsAny(m.Name, "/@ \t\n") {
		errs = append(errs, fmt.Errorf("name %q is not a plugin name", m.Name))
	}
	var err error
	if m.Version, err = sdk.ParseVersion(pm.Version); err != nil {
		errs = append(errs, fmt.Errorf("plugin version: %w", err))
	}
	if m.SDKVersion, err = sdk.ParseVersion(pm.SdkVersion); err != nil {
		errs = append(errs, fmt.Errorf("SDK version: %w", err))
	} else if host, err := sdk.ParseVersion(sdk.SDKVersion); err != nil || m.SDKVersion.Major != host.Major {
		errs = append(errs, fmt.Errorf("built with SDK %s, the host speaks SDK %s", m.SDKVersion, sdk.SDKVersion))
	}
	if len(pm.Kinds) == 0 {
		errs = append(errs, errors.New("declares neither a source nor a sink"))
	}
	for _, pk := range pm.Kinds {
		k, err := sdk.KindFromProto(pk)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		m.Kinds = append(m.Kinds, k)
		spec, wire := &m.SourceSpec, pm.SourceSpec
		if k == sdk.KindSink {
			spec, wire = &m.SinkSpec, pm.SinkSpec
		}
		if *spec, err = sdk.SpecFromProto(wire); err != nil {
			errs = append(errs, fmt.Errorf("%s spec: %w", k, err))
		} else if err := spec.Check(); err != nil {
			errs = append(errs, fmt.Errorf("%s spec: %w", k, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Manifest{}, fmt.Errorf("manifest of %s: %w", path, err)
	}
	return m, nil
}
