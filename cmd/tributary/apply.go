package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/tributary-io/tributary/pipelines"
	"github.com/tributary-io/tributary/pipelines/connect"
	"github.com/tributary-io/tributary/pipelines/deploy"
	"github.com/tributary-io/tributary/pipelines/spec"
)

// applyFlags are the flags of apply and delete.
type applyFlags struct {
	cf       *clientFlags
	server   *string
	files    stringList
	progress *string
	auth     *httpAuth
}

func parseApplyFlags(c *cli, name string, args []string) (*applyFlags, error) {
	fs := newFlagSet(c, name, name+" -f FILE|DIR [-f ...] [--server URL] [--bootstrap ADDRS]")
	f := &applyFlags{cf: addClientFlags(fs, c), server: addServerFlag(fs, c), auth: addHTTPAuthFlags(fs, c)}
	fs.Var(&f.files, "f", "manifest `file or directory` (repeatable)")
	f.progress = addProgressFlag(fs)
	rest, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	f.files = append(f.files, rest...)
	if len(f.files) == 0 {
		return nil, usageErrorf("give manifests with -f FILE|DIR")
	}
	if err := checkProgress(*f.progress); err != nil {
		return nil, err
	}
	return f, f.cf.check()
}

// runApply validates every manifest (locally, then connector configs by
// the cluster's plugins) and only when all are valid creates or updates
// what changed, printing one line per object: + created, ~ changed,
// = unchanged.
func runApply(ctx context.Context, c *cli, args []string) error {
	f, err := parseApplyFlags(c, "apply", args)
	if err != nil {
		return err
	}
	api := newAPIClient(*f.server, f.cf.timeout, f.auth)
	b, err := validateAll(ctx, c, api, f.files)
	if err != nil {
		return err
	}
	// One step per object; the bar's line is erased before each result
	// line and drawn again under it.
	bar := newProgress(c, *f.progress, "apply", int64(len(b.Manifests)))
	defer bar.Finish()
	c = &cli{stdin: c.stdin, stdout: bar.Stdout(c.stdout), stderr: c.stderr, env: c.env, exit: c.exit}
	var topics []*spec.Manifest
	for _, m := range b.Manifests {
		if m.Topic != nil {
			topics = append(topics, m)
		}
	}
	bar.Set(0, fmt.Sprintf("%d topics", len(topics)))
	if err := applyTopics(ctx, c, f.cf, topics); err != nil {
		return err
	}
	bar.Set(int64(len(topics)), "")
	for _, m := range b.Manifests {
		switch {
		case m.Connector != nil:
			var info struct {
				Changed bool `json:"changed"`
			}
			old := map[string]string{}
			_, _ = api.do(ctx, "GET", "/connectors/"+url.PathEscape(m.Name)+"/config", nil, &old)
			code, err := api.do(ctx, "PUT", "/connectors/"+url.PathEscape(m.Name)+"/config", connectorConfig(m), &info)
			if err != nil {
				return fmt.Errorf("connector %s (%s): %w", m.Name, m.Pos, err)
			}
			printChange(c, "connector", m.Name, code, info.Changed, configDiff(old, connectorConfig(m)))
			bar.Step("connector/" + m.Name)
		case m.Pipeline != nil:
			text, err := documentText(m)
			if err != nil {
				return err
			}
			var old struct {
				Manifest string `json:"manifest"`
			}
			_, _ = api.do(ctx, "GET", "/pipelines/"+url.PathEscape(m.Name), nil, &old)
			var info struct {
				Changed bool `json:"changed"`
			}
			code, err := api.do(ctx, "PUT", "/pipelines/"+url.PathEscape(m.Name), map[string]string{"manifest": text}, &info)
			if err != nil {
				return fmt.Errorf("pipeline %s (%s): %w", m.Name, m.Pos, err)
			}
			printChange(c, "pipeline", m.Name, code, info.Changed, lineDiff(old.Manifest, text))
			bar.Step("pipeline/" + m.Name)
		}
	}
	return nil
}

// runDelete stops and removes the connectors and pipelines the manifests
// declare. Topics are kept: deleting data takes `tributary topic delete`.
func runDelete(ctx context.Context, c *cli, args []string) error {
	f, err := parseApplyFlags(c, "delete", args)
	if err != nil {
		return err
	}
	api := newAPIClient(*f.server, f.cf.timeout, f.auth)
	b, probs := pipelines.Load(ctx, f.files, pipelines.Options{})
	if len(probs) > 0 {
		for _, p := range probs {
			fmt.Fprintln(c.stderr, p)
		}
		return fmt.Errorf("%d problems in the manifests; nothing was deleted", len(probs))
	}
	bar := newProgress(c, *f.progress, "delete", int64(len(b.Manifests)))
	defer bar.Finish()
	c = &cli{stdin: c.stdin, stdout: bar.Stdout(c.stdout), stderr: c.stderr, env: c.env, exit: c.exit}
	for _, m := range b.Manifests {
		bar.Step(m.Name)
		kind := ""
		switch {
		case m.Pipeline != nil:
			kind = "pipeline"
		case m.Connector != nil:
			kind = "connector"
		default:
			fmt.Fprintf(c.stdout, "= topic/%s kept (delete it with tributary topic delete)\n", m.Name)
			continue
		}
		_, err := api.do(ctx, "DELETE", "/"+kind+"s/"+url.PathEscape(m.Name), nil, nil)
		switch {
		case isNotFound(err):
			fmt.Fprintf(c.stdout, "= %s/%s not found\n", kind, m.Name)
		case err != nil:
			return fmt.Errorf("delete %s %s: %w", kind, m.Name, err)
		default:
			fmt.Fprintf(c.stdout, "- %s/%s deleted\n", kind, m.Name)
		}
	}
	return nil
}

// validateAll loads the manifests and has the cluster's plugins check
// every connector config, printing every problem with its position.
func validateAll(ctx context.Context, c *cli, api *apiClient, paths []string) (*pipelines.Bundle, error) {
	b, probs := pipelines.Load(ctx, paths, pipelines.Options{})
	if len(probs) == 0 {
		for _, m := range b.Manifests {
			probs = append(probs, remoteProblems(ctx, api, m)...)
		}
		probs.Sort()
	}
	if len(probs) > 0 {
		for _, p := range probs {
			fmt.Fprintln(c.stderr, p)
		}
		return nil, fmt.Errorf("%d problems in the manifests; nothing was changed", len(probs))
	}
	return b, nil
}

// remoteProblems asks the cluster's plugins about m's connector configs:
// a Connector's, and those of a pipeline's connector input and outputs.
func remoteProblems(ctx context.Context, api *apiClient, m *spec.Manifest) spec.Problems {
	var probs spec.Problems
	switch {
	case m.Connector != nil:
		if strings.HasPrefix(m.Name, deploy.BridgePrefix) {
			probs.Add(m.NamePos, "metadata.name", "connector names starting with %q are reserved for the connectors of pipelines' connector inputs and outputs", deploy.BridgePrefix)
		}
		cfg := connectorConfig(m)
		cfg["name"] = m.Name
		probs = append(probs, pluginProblems(ctx, api, m.Connector.ConnectorRef, "spec", cfg, func(field string) (spec.Pos, string, bool) {
			switch field {
			case connect.KeyTopic:
				return m.Connector.Topic.Pos, "spec.topic", true
			case connect.KeyType, connect.KeyTopics:
				return m.Connector.Pos, "spec." + field, true
			}
			return spec.Pos{}, "", false
		})...)
	case m.Pipeline != nil:
		refCfg := func(ref *spec.ConnectorRef, name string, keys map[string]string) map[string]string {
			cfg := maps.Clone(ref.Config.Values)
			if cfg == nil {
				cfg = map[string]string{}
			}
			maps.Copy(cfg, keys)
			cfg[connect.KeyPlugin], cfg["name"] = ref.Plugin, name
			return cfg
		}
		if ref := m.Pipeline.Input.Connector; ref != nil {
			name := deploy.BridgeName(m.Name, "source")
			cfg := refCfg(ref, name, map[string]string{connect.KeyType: "source", connect.KeyTopic: name})
			probs = append(probs, pluginProblems(ctx, api, *ref, ref.Path, cfg, nil)...)
		}
		for _, o := range m.Pipeline.Outputs {
			if ref := o.Connector; ref != nil {
				name := deploy.BridgeName(m.Name, "sink."+o.Name)
				cfg := refCfg(ref, name, map[string]string{connect.KeyType: "sink", connect.KeyTopics: name})
				probs = append(probs, pluginProblems(ctx, api, *ref, ref.Path, cfg, nil)...)
			}
		}
	}
	return probs
}

// pluginProblems has the cluster validate cfg, the flat configuration of
// ref, and places every problem on the field it concerns (path is where
// ref is in the manifest); place maps runtime keys for a Connector.
func pluginProblems(ctx context.Context, api *apiClient, ref spec.ConnectorRef, path string, cfg map[string]string,
	place func(field string) (spec.Pos, string, bool)) spec.Problems {
	var probs spec.Problems
	var v struct {
		Problems []struct{ Field, Value, Reason string } `json:"problems"`
	}
	if _, err := api.do(ctx, "PUT", "/connector-plugins/"+url.PathEscape(ref.Plugin)+"/config/validate", cfg, &v); err != nil {
		probs.Add(ref.PluginPos, path+".plugin", "validate with the cluster: %v", err)
		return probs
	}
	for _, p := range v.Problems {
		pos, at := ref.Config.Pos, path+".config."+p.Field
		if kp, ok := ref.Config.KeyPos[p.Field]; ok {
			pos = kp
		}
		if p.Field == connect.KeyPlugin {
			pos, at = ref.PluginPos, path+".plugin"
		} else if place != nil {
			if pp, pa, ok := place(p.Field); ok {
				pos, at = pp, pa
			}
		}
		if pos.Line == 0 {
			pos = ref.Pos
		}
		val := ""
		if p.Value != "" {
			val = fmt.Sprintf(" (value %q)", p.Value)
		}
		probs.Add(pos, at, "%s%s", p.Reason, val)
	}
	return probs
}

// connectorConfig is a Connector manifest as the flat configuration the
// REST API takes.
func connectorConfig(m *spec.Manifest) map[string]string {
	c := m.Connector
	out := maps.Clone(c.Config.Values)
	if out == nil {
		out = map[string]string{}
	}
	out[connect.KeyPlugin] = c.Plugin
	out[connect.KeyType] = string(c.Type)
	if c.Topic.Name != "" {
		out[connect.KeyTopic] = c.Topic.Name
	}
	if len(c.Topics) > 0 {
		names := make([]string, len(c.Topics))
		for i, t := range c.Topics {
			names[i] = t.Name
		}
		out[connect.KeyTopics] = strings.Join(names, ",")
	}
	return out
}

// documentText cuts m's YAML document out of its file.
func documentText(m *spec.Manifest) (string, error) {
	data, err := os.ReadFile(m.Pos.File)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", m.Pos.File, err)
	}
	lines := strings.Split(string(data), "\n")
	start := max(m.Pos.Line-1, 0)
	end := len(lines)
	for i := start + 1; i < len(lines); i++ {
		if strings.TrimRight(lines[i], " \t\r") == "---" {
			end = i
			break
		}
	}
	return strings.Join(lines[start:end], "\n"), nil
}

func printChange(c *cli, kind, name string, code int, changed bool, diff []string) {
	switch {
	case code == 201:
		fmt.Fprintf(c.stdout, "+ %s/%s created\n", kind, name)
	case changed:
		fmt.Fprintf(c.stdout, "~ %s/%s configured\n", kind, name)
		for _, d := range diff {
			fmt.Fprintf(c.stdout, "    %s\n", d)
		}
	default:
		fmt.Fprintf(c.stdout, "= %s/%s unchanged\n", kind, name)
	}
}

// configDiff lists the keys that differ between two flat configs.
func configDiff(old, next map[string]string) []string {
	keys := slices.Sorted(maps.Keys(next))
	for k := range old {
		if _, ok := next[k]; !ok && k != "name" && k != connect.KeyTasksMax && k != connect.KeyTolerance {
			keys = append(keys, k)
		}
	}
	var out []string
	for _, k := range keys {
		o, had := old[k]
		n, has := next[k]
		switch {
		case !had && has:
			out = append(out, fmt.Sprintf("+ %s: %s", k, n))
		case had && !has:
			out = append(out, fmt.Sprintf("- %s: %s", k, o))
		case o != n:
			out = append(out, fmt.Sprintf("~ %s: %s -> %s", k, o, n))
		}
	}
	return out
}

// lineDiff lists lines removed from old (-) and added in next (+).
func lineDiff(old, next string) []string {
	count := func(s string) map[string]int {
		m := map[string]int{}
		for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
			m[l]++
		}
		return m
	}
	o, n := count(old), count(next)
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(old), "\n") {
		if n[l] > 0 {
			n[l]--
			continue
		}
		out = append(out, "- "+l)
	}
	n = count(next)
	for _, l := range strings.Split(strings.TrimSpace(next), "\n") {
		if o[l] > 0 {
			o[l]--
			continue
		}
		out = append(out, "+ "+l)
	}
	return out
}

// applyTopics creates missing topics, reporting each.
func applyTopics(ctx context.Context, c *cli, cf *clientFlags, topics []*spec.Manifest) error {
	if len(topics) == 0 {
		return nil
	}
	adm, err := cf.newAdmin()
	if err != nil {
		return err
	}
	defer adm.Close()
	rctx, cancel := context.WithTimeout(ctx, cf.timeout)
	defer cancel()
	names := make([]string, len(topics))
	for i, t := range topics {
		names[i] = t.Name
	}
	existing, err := adm.ListTopics(rctx, names...)
	if err != nil {
		return fmt.Errorf("list topics: %w", err)
	}
	var missing []*spec.Manifest
	for _, t := range topics {
		if d, ok := existing[t.Name]; ok && d.Err == nil {
			fmt.Fprintf(c.stdout, "= topic/%s exists\n", t.Name)
			continue
		}
		missing = append(missing, t)
	}
	if err := createTopics(ctx, cf, missing, slog.New(slog.DiscardHandler)); err != nil {
		return err
	}
	for _, t := range missing {
		fmt.Fprintf(c.stdout, "+ topic/%s created\n", t.Name)
	}
	// Metadata of new topics reaches every broker quickly; wait briefly so
	// connectors and pipelines started next find them.
	if len(missing) > 0 {
		deadline := time.Now().Add(cf.timeout)
		for time.Now().Before(deadline) {
			got, err := adm.ListTopics(rctx, names...)
			if err == nil && len(got) == len(names) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}
