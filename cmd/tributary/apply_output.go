package main

import (
	"bufio"
	"bytes"
	"context"
	"strings"
)

// objectChange is one result line of apply or delete as --output json or
// yaml prints it: "+ topic/orders created" is {kind: topic, name: orders,
// change: created}; a configured object's diff lines come in diff.
type objectChange struct {
	Kind   string   `json:"kind"`
	Name   string   `json:"name"`
	Change string   `json:"change"` // created, configured, unchanged, exists, deleted, not_found, kept
	Note   string   `json:"note,omitempty"`
	Diff   []string `json:"diff,omitempty"`
}

// withChangeOutput runs apply or delete. Their result lines are for
// people; with --output json or yaml the lines are collected instead and
// printed at the end as one list of objectChange, so a script gets one
// document (nothing is printed when the command fails).
func withChangeOutput(run func(context.Context, *cli, []string) error) func(context.Context, *cli, []string) error {
	return func(ctx context.Context, c *cli, args []string) error {
		format := outputArg(args)
		if format == "" || format == outputTable || checkOutput(format) != nil {
			return run(ctx, c, args) // the flag set reports a bad value
		}
		var lines bytes.Buffer
		collect := *c
		collect.stdout = &lines
		if err := run(ctx, &collect, args); err != nil {
			return err
		}
		return writeStructured(c.stdout, format, parseChanges(lines.String()))
	}
}

// outputArg finds the value of --output among args, or "".
func outputArg(args []string) string {
	out := ""
	for i, a := range args {
		if a == "--" {
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "output" {
			continue
		}
		if hasValue {
			out = value
		} else if i+1 < len(args) {
			out = args[i+1]
		}
	}
	return out
}

// parseChanges turns the result lines ("+ kind/name change (note)", diff
// lines indented under them) into objectChanges.
func parseChanges(text string) []objectChange {
	out := []objectChange{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "    ") && len(out) > 0 {
			last := &out[len(out)-1]
			last.Diff = append(last.Diff, strings.TrimSpace(line))
			continue
		}
		if len(line) < 3 || line[1] != ' ' {
			continue
		}
		ref, tail, _ := strings.Cut(line[2:], " ")
		kind, name, _ := strings.Cut(ref, "/")
		change, note, _ := strings.Cut(tail, " (")
		out = append(out, objectChange{Kind: kind, Name: name, Change: strings.ReplaceAll(change, " ", "_"),
			Note: strings.TrimSuffix(note, ")")})
	}
	return out
}
