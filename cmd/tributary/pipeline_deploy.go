package main

import (
	"context"
	"fmt"
	"net/url"
	"text/tabwriter"
)

// The deployed-pipeline actions of `tributary pipeline`, calls of a node's
// REST API (--server).

func pipelineList(ctx context.Context, c *cli, args []string) error {
	f, _, err := parseAPIFlags(c, "pipeline list", args, nil)
	if err != nil {
		return err
	}
	var all []struct {
		Name   string `json:"name"`
		State  string `json:"state"`
		Worker string `json:"worker_id"`
		Trace  string `json:"trace"`
	}
	if _, err := f.client().do(ctx, "GET", "/pipelines?expand=status", nil, &all); err != nil {
		return err
	}
	if f.output != outputTable {
		return writeStructured(c.stdout, f.output, all)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tWORKER")
	for _, p := range all {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Name, p.State, p.Worker)
	}
	return tw.Flush()
}

func pipelineDescribe(ctx context.Context, c *cli, args []string) error {
	f, rest, err := parseAPIFlags(c, "pipeline describe NAME", args, nil)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageErrorf("give one name")
	}
	api := f.client()
	var info struct {
		Name     string `json:"name"`
		Manifest string `json:"manifest"`
		Paused   bool   `json:"paused"`
	}
	if _, err := api.do(ctx, "GET", "/pipelines/"+url.PathEscape(rest[0]), nil, &info); err != nil {
		return err
	}
	var st struct {
		State  string `json:"state"`
		Worker string `json:"worker_id"`
		Trace  string `json:"trace"`
		Parts  []struct {
			Unit   string `json:"unit"`
			State  string `json:"state"`
			Worker string `json:"worker_id"`
		} `json:"parts"`
	}
	if _, err := api.do(ctx, "GET", "/pipelines/"+url.PathEscape(rest[0])+"/status", nil, &st); err != nil {
		return err
	}
	if f.output != outputTable {
		return writeStructured(c.stdout, f.output, map[string]any{"info": info, "status": st})
	}
	fmt.Fprintf(c.stdout, "Name:    %s\nState:   %s\nWorker:  %s\n", info.Name, st.State, st.Worker)
	if st.Trace != "" {
		fmt.Fprintf(c.stdout, "Error:   %s\n", st.Trace)
	}
	if len(st.Parts) > 1 { // a pipeline with connectors
		fmt.Fprintln(c.stdout, "Parts:")
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		for _, p := range st.Parts {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", p.Unit, p.State, p.Worker)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintf(c.stdout, "Manifest:\n%s\n", info.Manifest)
	return nil
}

// pipelineLogs prints the pipeline's last reported state and error, then
// the last lines it logged on the worker running it (asked through any
// node: the node answering asks that worker's node).
func pipelineLogs(ctx context.Context, c *cli, args []string) error {
	f, rest, err := parseAPIFlags(c, "pipeline logs NAME", args, nil)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageErrorf("give one name")
	}
	api := f.client()
	var st struct {
		State   string `json:"state"`
		Worker  string `json:"worker_id"`
		Trace   string `json:"trace"`
		Updated string `json:"updated"`
	}
	if _, err := api.do(ctx, "GET", "/pipelines/"+url.PathEscape(rest[0])+"/status", nil, &st); err != nil {
		return err
	}
	var logs struct {
		Worker string   `json:"worker_id"`
		Lines  []string `json:"lines"`
	}
	if _, err := api.do(ctx, "GET", "/pipelines/"+url.PathEscape(rest[0])+"/logs", nil, &logs); err != nil {
		return err
	}
	if f.output != outputTable {
		return writeStructured(c.stdout, f.output, map[string]any{"status": st, "logs": logs})
	}
	fmt.Fprintf(c.stdout, "%s %s state=%s worker=%s", st.Updated, rest[0], st.State, st.Worker)
	if st.Trace != "" {
		fmt.Fprintf(c.stdout, " error=%q", st.Trace)
	}
	fmt.Fprintln(c.stdout)
	if len(logs.Lines) == 0 {
		fmt.Fprintf(c.stdout, "(no log lines on worker %s)\n", logs.Worker)
	}
	for _, l := range logs.Lines {
		fmt.Fprintln(c.stdout, l)
	}
	return nil
}
