package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"
)

// runConnector dispatches `tributary connector <action>`, each a call of
// the REST API of a node (--server).
func runConnector(ctx context.Context, c *cli, args []string) error {
	return dispatch(ctx, c, "connector", args, []action{
		{"list", "list connectors with their state", connectorList},
		{"create", "create a connector: create NAME key=value...", connectorCreate},
		{"update", "replace a connector's config: update NAME key=value...", connectorUpdate},
		{"describe", "show a connector's config and task states", connectorDescribe},
		{"delete", "delete a connector (its tasks stop)", apiSimple("DELETE", "/connectors/%s", "deleted")},
		{"pause", "pause a connector's tasks", apiSimple("PUT", "/connectors/%s/pause", "paused")},
		{"resume", "resume a paused connector", apiSimple("PUT", "/connectors/%s/resume", "resumed")},
		{"restart", "restart a connector's tasks (--task N for one)", connectorRestart},
		{"snapshot", "follow a change-capture source's initial snapshot with a progress bar", connectorSnapshot},
		{"plugins", "list the plugins the workers can run", connectorPlugins},
		{"spec", "show a plugin's config fields: spec PLUGIN", connectorSpec},
		{"validate", "validate a config: validate PLUGIN key=value...", connectorValidate},
	})
}

// apiFlags are the flags of REST API commands.
type apiFlags struct {
	server  *string
	auth    *httpAuth
	output  string
	timeout time.Duration
}

func parseAPIFlags(c *cli, synopsis string, args []string, extra func(*apiFlagSet)) (*apiFlags, []string, error) {
	fs := newFlagSet(c, synopsis, synopsis)
	f := &apiFlags{server: addServerFlag(fs, c), auth: addHTTPAuthFlags(fs, c)}
	fs.StringVar(&f.output, "output", outputTable, "output `format`: "+outputFormats)
	fs.DurationVar(&f.timeout, "request-timeout", 60*time.Second, "give up on the node after this long")
	if extra != nil {
		extra(&apiFlagSet{fs})
	}
	rest, err := parseArgs(fs, args)
	if err != nil {
		return nil, nil, err
	}
	if err := checkOutput(f.output); err != nil {
		return nil, nil, err
	}
	return f, rest, nil
}

// apiFlagSet lets a command add its own flags.
type apiFlagSet struct {
	fs interface {
		IntVar(*int, string, int, string)
	}
}

func (f *apiFlags) client() *apiClient { return newAPIClient(*f.server, f.timeout, f.auth) }

// apiSimple is an action NAME that calls method on path and says done.
func apiSimple(method, path, done string) func(context.Context, *cli, []string) error {
	return func(ctx context.Context, c *cli, args []string) error {
		f, rest, err := parseAPIFlags(c, "connector NAME", args, nil)
		if err != nil {
			return err
		}
		if len(rest) != 1 {
			return usageErrorf("give one name")
		}
		if _, err := f.client().do(ctx, method, fmt.Sprintf(path, url.PathEscape(rest[0])), nil, nil); err != nil {
			return err
		}
		kind, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "s/") // "/connectors/%s..." -> connector
		return reportDone(c, f.output, kind, rest[0], done, rest[0]+" "+done)
	}
}

func connectorList(ctx context.Context, c *cli, args []string) error {
	f, _, err := parseAPIFlags(c, "connector list", args, nil)
	if err != nil {
		return err
	}
	var all map[string]struct {
		Status struct {
			Connector struct{ State string } `json:"connector"`
			Tasks     []json.RawMessage      `json:"tasks"`
			Type      string                 `json:"type"`
		} `json:"status"`
	}
	if _, err := f.client().do(ctx, "GET", "/connectors?expand=status", nil, &all); err != nil {
		return err
	}
	if f.output != outputTable {
		return writeStructured(c.stdout, f.output, all)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTYPE\tSTATE\tTASKS")
	for _, name := range sortedKeys(all) {
		s := all[name].Status
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", name, s.Type, s.Connector.State, len(s.Tasks))
	}
	return tw.Flush()
}

// keyValues parses key=value arguments.
func keyValues(args []string) (map[string]string, error) {
	out := map[string]string{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, usageErrorf("%q: want key=value", a)
		}
		out[k] = v
	}
	return out, nil
}

func connectorCreate(ctx context.Context, c *cli, args []string) error {
	f, rest, err := parseAPIFlags(c, "connector create NAME key=value...", args, nil)
	if err != nil {
		return err
	}
	if len(rest) < 1 {
		return usageErrorf("give a name and the config as key=value")
	}
	cfg, err := keyValues(rest[1:])
	if err != nil {
		return err
	}
	_, err = f.client().do(ctx, "POST", "/connectors", map[string]any{"name": rest[0], "config": cfg}, nil)
	if err != nil {
		return withProblems(c, err)
	}
	return reportDone(c, f.output, "connector", rest[0], "created", "connector "+rest[0]+" created")
}

// connectorUpdate replaces a connector's whole configuration, as Kafka
// Connect's PUT /connectors/NAME/config does: keys left out are removed.
func connectorUpdate(ctx context.Context, c *cli, args []string) error {
	f, rest, err := parseAPIFlags(c, "connector update NAME key=value...", args, nil)
	if err != nil {
		return err
	}
	if len(rest) < 2 {
		return usageErrorf("give a name and the whole new config as key=value")
	}
	cfg, err := keyValues(rest[1:])
	if err != nil {
		return err
	}
	var info struct {
		Changed *bool `json:"changed"`
	}
	if _, err := f.client().do(ctx, "PUT", "/connectors/"+url.PathEscape(rest[0])+"/config", cfg, &info); err != nil {
		return withProblems(c, err)
	}
	if info.Changed != nil && !*info.Changed {
		return reportDone(c, f.output, "connector", rest[0], "unchanged", "connector "+rest[0]+" unchanged")
	}
	return reportDone(c, f.output, "connector", rest[0], "updated", "connector "+rest[0]+" updated")
}

// withProblems prints every problem of an invalid configuration.
func withProblems(c *cli, err error) error {
	ae, ok := err.(*apiError)
	if !ok || (len(ae.Problems) == 0 && len(ae.Lines) == 0) {
		return err
	}
	for _, p := range ae.Problems {
		fmt.Fprintf(c.stderr, "  %s\n", p)
	}
	for _, l := range ae.Lines {
		fmt.Fprintf(c.stderr, "  %s\n", l)
	}
	return fmt.Errorf("invalid configuration: %d problems", len(ae.Problems)+len(ae.Lines))
}

func connectorDescribe(ctx context.Context, c *cli, args []string) error {
	f, rest, err := parseAPIFlags(c, "connector describe NAME", args, nil)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageErrorf("give one name")
	}
	api := f.client()
	var info struct {
		Name   string            `json:"name"`
		Config map[string]string `json:"config"`
		Type   string            `json:"type"`
	}
	if _, err := api.do(ctx, "GET", "/connectors/"+url.PathEscape(rest[0]), nil, &info); err != nil {
		return err
	}
	var st struct {
		Connector struct {
			State string `json:"state"`
		} `json:"connector"`
		Tasks []struct {
			ID     int    `json:"id"`
			State  string `json:"state"`
			Worker string `json:"worker_id"`
			Trace  string `json:"trace"`
		} `json:"tasks"`
	}
	if _, err := api.do(ctx, "GET", "/connectors/"+url.PathEscape(rest[0])+"/status", nil, &st); err != nil {
		return err
	}
	if f.output != outputTable {
		return writeStructured(c.stdout, f.output, map[string]any{"info": info, "status": st})
	}
	fmt.Fprintf(c.stdout, "Name:   %s\nType:   %s\nState:  %s\nConfig:\n", info.Name, info.Type, st.Connector.State)
	for _, k := range sortedKeys(info.Config) {
		fmt.Fprintf(c.stdout, "  %s = %s\n", k, info.Config[k])
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TASK\tSTATE\tWORKER\tERROR")
	for _, t := range st.Tasks {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", t.ID, t.State, t.Worker, t.Trace)
	}
	return tw.Flush()
}

func connectorRestart(ctx context.Context, c *cli, args []string) error {
	task := -1
	f, rest, err := parseAPIFlags(c, "connector restart NAME [--task N]", args, func(fs *apiFlagSet) {
		fs.fs.IntVar(&task, "task", -1, "restart only this `task`")
	})
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageErrorf("give one name")
	}
	path := "/connectors/" + url.PathEscape(rest[0]) + "/restart"
	if task >= 0 {
		path = fmt.Sprintf("/connectors/%s/tasks/%d/restart", url.PathEscape(rest[0]), task)
	}
	if _, err := f.client().do(ctx, "POST", path, nil, nil); err != nil {
		return err
	}
	return reportDone(c, f.output, "connector", rest[0], "restarted", rest[0]+" restarted")
}

func connectorPlugins(ctx context.Context, c *cli, args []string) error {
	f, _, err := parseAPIFlags(c, "connector plugins", args, nil)
	if err != nil {
		return err
	}
	var ps []struct {
		Class       string   `json:"class"`
		Version     string   `json:"version"`
		Kinds       []string `json:"kinds"`
		Description string   `json:"description"`
	}
	if _, err := f.client().do(ctx, "GET", "/connector-plugins", nil, &ps); err != nil {
		return err
	}
	if f.output != outputTable {
		return writeStructured(c.stdout, f.output, ps)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PLUGIN\tVERSION\tKINDS\tDESCRIPTION")
	for _, p := range ps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Class, p.Version, strings.Join(p.Kinds, ","), p.Description)
	}
	return tw.Flush()
}

// connectorSpec prints a plugin's config spec, as the plugin declared it
// (the same spec validates connector configs).
func connectorSpec(ctx context.Context, c *cli, args []string) error {
	f, rest, err := parseAPIFlags(c, "connector spec PLUGIN", args, nil)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageErrorf("give one plugin")
	}
	var fields []struct {
		Kind        string   `json:"kind"`
		Name        string   `json:"name"`
		Type        string   `json:"type"`
		Required    bool     `json:"required"`
		Default     string   `json:"default_value,omitempty"`
		Enum        []string `json:"enum,omitempty"`
		Description string   `json:"documentation"`
	}
	if _, err := f.client().do(ctx, "GET", "/connector-plugins/"+url.PathEscape(rest[0])+"/config", nil, &fields); err != nil {
		return err
	}
	if f.output != outputTable {
		return writeStructured(c.stdout, f.output, fields)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tFIELD\tTYPE\tREQUIRED\tDEFAULT\tDESCRIPTION")
	for _, fd := range fields {
		def := fd.Default
		if len(fd.Enum) > 0 {
			def += " (" + strings.Join(fd.Enum, "|") + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\t%s\n", fd.Kind, fd.Name, fd.Type, fd.Required, def, fd.Description)
	}
	return tw.Flush()
}

func connectorValidate(ctx context.Context, c *cli, args []string) error {
	f, rest, err := parseAPIFlags(c, "connector validate PLUGIN key=value...", args, nil)
	if err != nil {
		return err
	}
	if len(rest) < 1 {
		return usageErrorf("give the plugin and the config as key=value")
	}
	cfg, err := keyValues(rest[1:])
	if err != nil {
		return err
	}
	var v struct {
		ErrorCount int `json:"error_count"`
		Problems   []struct {
			Field  string `json:"Field"`
			Value  string `json:"Value"`
			Reason string `json:"Reason"`
		} `json:"problems"`
	}
	if _, err := f.client().do(ctx, "PUT", "/connector-plugins/"+url.PathEscape(rest[0])+"/config/validate", cfg, &v); err != nil {
		return err
	}
	if f.output != outputTable {
		return writeStructured(c.stdout, f.output, v)
	}
	if v.ErrorCount == 0 {
		fmt.Fprintln(c.stdout, "config is valid")
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FIELD\tVALUE\tPROBLEM")
	for _, p := range v.Problems {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Field, p.Value, p.Reason)
	}
	_ = tw.Flush()
	return fmt.Errorf("%d problems", v.ErrorCount)
}
