package connect

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/tributary-io/tributary/plugins"
	"github.com/tributary-io/tributary/sdk"
)

// Host creates plugin instances and parses their configurations.
// RegistryHost runs plugin processes; InProcess runs sdk.Plugin values in
// this process (tests, benchmarks).
type Host interface {
	Validator
	ParseConfig(ctx context.Context, plugin string, kind sdk.Kind, raw map[string]string) (sdk.Config, error)
	NewSource(plugin string) (sdk.Source, error)
	NewSink(plugin string) (sdk.Sink, error)
}

// RegistryHost is a Host on a plugin registry: every instance is a
// supervised plugin process.
type RegistryHost struct{ *plugins.Registry }

// NewSource returns the plugin's supervised source.
func (h RegistryHost) NewSource(plugin string) (sdk.Source, error) {
	return h.Registry.NewSource(plugin)
}

// NewSink returns the plugin's supervised sink.
func (h RegistryHost) NewSink(plugin string) (sdk.Sink, error) { return h.Registry.NewSink(plugin) }

// InProcess is a Host running plugins declared with the sdk in this process.
type InProcess struct {
	Plugins []*sdk.Plugin
	Logger  *slog.Logger
}

func (h InProcess) find(name string, kind sdk.Kind) (*sdk.Plugin, error) {
	for _, p := range h.Plugins {
		if p.Name == name {
			if _, ok := p.Spec(kind); !ok {
				return nil, fmt.Errorf("plugin %s has no %s", name, kind)
			}
			return p, nil
		}
	}
	return nil, fmt.Errorf("%w %q", plugins.ErrUnknownPlugin, name)
}

// Validate lists every problem of raw.
func (h InProcess) Validate(_ context.Context, name string, kind sdk.Kind, raw map[string]string) ([]sdk.Problem, error) {
	p, err := h.find(name, kind)
	if err != nil {
		return nil, err
	}
	_, err = p.ParseConfig(kind, raw)
	return sdk.Problems(err), nil
}

// ParseConfig validates and parses raw.
func (h InProcess) ParseConfig(_ context.Context, name string, kind sdk.Kind, raw map[string]string) (sdk.Config, error) {
	p, err := h.find(name, kind)
	if err != nil {
		return sdk.Config{}, err
	}
	return p.ParseConfig(kind, raw)
}

func (h InProcess) env(name string) sdk.Env {
	l := h.Logger
	if l == nil {
		l = slog.Default()
	}
	return sdk.Env{Logger: l.With("plugin", name)}
}

// NewSource returns a new instance of the plugin's source.
func (h InProcess) NewSource(name string) (sdk.Source, error) {
	p, err := h.find(name, sdk.KindSource)
	if err != nil {
		return nil, err
	}
	return p.Source.New(h.env(name)), nil
}

// NewSink returns a new instance of the plugin's sink.
func (h InProcess) NewSink(name string) (sdk.Sink, error) {
	p, err := h.find(name, sdk.KindSink)
	if err != nil {
		return nil, err
	}
	return p.Sink.New(h.env(name)), nil
}
