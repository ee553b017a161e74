package platform

import (
	"context"
	"fmt"
	"net/http"

	"github.com/tributary-io/tributary/pipelines/connect"
	"github.com/tributary-io/tributary/sdk"
)

func contextTimeout(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), apiTimeout)
}

// pluginInfo is one entry of GET /connector-plugins.
type pluginInfo struct {
	Class       string   `json:"class"`
	Type        string   `json:"type"`
	Version     string   `json:"version"`
	Kinds       []string `json:"kinds"`
	Description string   `json:"description,omitempty"`
	Path        string   `json:"path"`
}

func (n *Node) listPlugins(w http.ResponseWriter, _ *http.Request) {
	if n.needWorker(w) == nil {
		return
	}
	out := []pluginInfo{}
	for _, m := range n.plugins.Plugins() {
		p := pluginInfo{Class: m.Name, Version: m.Version.String(), Description: m.Description, Path: m.Path}
		for _, k := range m.Kinds {
			p.Kinds = append(p.Kinds, k.String())
		}
		if len(p.Kinds) > 0 {
			p.Type = p.Kinds[0]
		}
		out = append(out, p)
	}
	writeJSON(w, http.StatusOK, out)
}

// fieldInfo describes one config field of a plugin.
type fieldInfo struct {
	Kind        string   `json:"kind"`
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Required    bool     `json:"required"`
	Default     string   `json:"default_value,omitempty"`
	Enum        []string `json:"enum,omitempty"`
	Description string   `json:"documentation"`
}

func (n *Node) pluginConfig(w http.ResponseWriter, r *http.Request) {
	if n.needWorker(w) == nil {
		return
	}
	m, ok := n.plugins.Plugin(r.PathValue("plugin"))
	if !ok {
		writeJSON(w, http.StatusNotFound, apiError{Code: 404, Message: fmt.Sprintf("no plugin %q", r.PathValue("plugin"))})
		return
	}
	out := []fieldInfo{}
	for _, k := range m.Kinds {
		spec, _ := m.Spec(k)
		for _, f := range spec.Fields {
			out = append(out, fieldInfo{Kind: k.String(), Name: f.Name, Type: f.Type.String(), Required: f.Required,
				Default: f.Default, Enum: f.Enum, Description: f.Description})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// validation is the answer of PUT /connector-plugins/{plugin}/config/validate.
type validation struct {
	Name       string        `json:"name"`
	ErrorCount int           `json:"error_count"`
	Problems   []sdk.Problem `json:"problems"`
}

func (n *Node) validatePluginConfig(w http.ResponseWriter, r *http.Request) {
	wk := n.needWorker(w)
	if wk == nil {
		return
	}
	var cfg map[string]string
	if err := readBody(r, &cfg); err != nil {
		writeErr(w, err)
		return
	}
	if cfg == nil { // a body of null
		cfg = map[string]string{}
	}
	cfg[connect.KeyPlugin] = r.PathValue("plugin")
	name := cfg["name"]
	delete(cfg, "name")
	if name == "" {
		name = "validate"
	}
	ctx, cancel := contextTimeout(r)
	defer cancel()
	probs, err := wk.ValidateConnector(ctx, name, cfg)
	if err != nil {
		writeErr(w, err)
		return
	}
	if probs == nil {
		probs = []sdk.Problem{}
	}
	writeJSON(w, http.StatusOK, validation{Name: r.PathValue("plugin"), ErrorCount: len(probs), Problems: probs})
}
