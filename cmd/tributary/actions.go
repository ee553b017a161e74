package main

import (
	"context"
	"fmt"
)

// action is one verb of a command with actions (`tributary topic create`).
type action struct {
	name    string
	summary string
	run     func(context.Context, *cli, []string) error
}

// dispatch runs the action args[0] of command cmd, or prints the command's
// usage with its actions for no action, -h, --help or help. Shell completion
// reads the actions back from this usage text.
func dispatch(ctx context.Context, c *cli, cmd string, args []string, actions []action) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		width := 0
		for _, a := range actions {
			width = max(width, len(a.name))
		}
		fmt.Fprintf(c.stderr, "Usage: tributary %s <action> [flags]\n\nActions:\n", cmd)
		for _, a := range actions {
			fmt.Fprintf(c.stderr, "  %-*s %s\n", width+2, a.name, a.summary)
		}
		if len(args) == 0 {
			return usageErrorf("no action given")
		}
		return nil
	}
	for _, a := range actions {
		if a.name == args[0] {
			return a.run(ctx, c, args[1:])
		}
	}
	return usageErrorf("unknown action %q", args[0])
}
