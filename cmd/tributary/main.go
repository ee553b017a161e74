// Command tributary is the single Tributary binary: `tributary serve` runs a
// node, and the other sub-commands are Kafka clients (franz-go kgo/kadm) that
// work against any Kafka-compatible broker.
//
// Each sub-command lives in its own file and has the signature of
// command.run; add one by adding a row to commands().
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &cli{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, env: os.LookupEnv, exit: os.Exit,
	})
	stop()
	os.Exit(code)
}

// cli is what a sub-command may touch of the process: its standard streams,
// environment and exit. Commands never use os.Stdin, os.Getenv or os.Exit
// directly, so they can run inside a test.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	env            func(string) (string, bool)
	exit           func(code int)
}

// command is one sub-command. run gets the arguments after the command's name;
// ctx is cancelled on the first SIGINT/SIGTERM.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, c *cli, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run a broker node", runServe},
		{"topic", "create, list, describe, alter and delete topics", runTopic},
		{"produce", "produce lines from stdin or a file", runProduce},
		{"consume", "consume records and print them", runConsume},
		{"group", "list, describe, delete consumer groups and reset their offsets", runGroup},
		{"txn", "list and describe transactions (state, producer, partitions)", runTxn},
		{"user", "create, delete and list SCRAM users", runUser},
		{"acl", "add, remove and list ACLs", runACL},
		{"cluster", "show a cluster's nodes and partition health, add and remove nodes", runCluster},
		{"perf", "measure produce, consume and end-to-end throughput and latency", runPerf},
		{"pipeline", "run a pipeline in the foreground, or test one offline", runPipeline},
		{"lint", "validate manifests offline (Topic, Connector, Pipeline)", runLint},
		{"apply", "validate manifests, then create or update their topics, connectors and pipelines", withChangeOutput(runApply)},
		{"delete", "delete the connectors and pipelines manifests declare", withChangeOutput(runDelete)},
		{"connector", "list, create, update, describe, pause, resume, restart and delete connectors; plugins, their specs, validate", runConnector},
		{"worker", "run a standalone connector and pipeline worker", runWorker},
		{"log-level", "show or change a running node's log level", runLogLevel},
		{"version", "print the version of this binary", runVersion},
		{"completion", "print a bash or zsh completion script", runCompletion},
	}
}

// run dispatches args to a sub-command and turns its error into an exit code:
// 0 on success or help, 1 on any error, with a one-line message on stderr.
func run(ctx context.Context, args []string, c *cli) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(c.stderr)
		if len(args) == 0 {
			return 1
		}
		return 0
	}
	switch args[0] {
	case completeCommand:
		_ = runComplete(ctx, c, args[1:])
		return 0
	case "--version", "-version":
		args = []string{"version"}
	}
	for _, cmd := range commands() {
		if cmd.name != args[0] {
			continue
		}
		err := cmd.run(ctx, c, args[1:])
		var reported errReported
		var badUsage errUsage
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &reported):
			return 1 // the flag package already printed the problem and the usage
		case errors.As(err, &badUsage):
			fmt.Fprintf(c.stderr, "tributary %s: %v (see 'tributary %s -h')\n", cmd.name, err, cmd.name)
			return 1
		default:
			fmt.Fprintf(c.stderr, "tributary %s: %v\n", cmd.name, err)
			if h := hint(err); h != "" {
				fmt.Fprintf(c.stderr, "  hint: %s\n", h)
			}
			return 1
		}
	}
	fmt.Fprintf(c.stderr, "tributary: unknown command %q\n\n", args[0])
	usage(c.stderr)
	return 1
}

func usage(w io.Writer) {
	var b strings.Builder
	b.WriteString("Usage: tributary <command> [flags]\n\nCommands:\n")
	for _, cmd := range commands() {
		fmt.Fprintf(&b, "  %-10s %s\n", cmd.name, cmd.summary)
	}
	b.WriteString("\nRun 'tributary <command> -h' for a command's flags.\n")
	_, _ = io.WriteString(w, b.String())
}

// errUsage marks a mistake in the command line; its text says what to fix.
type errUsage struct{ msg string }

func (e errUsage) Error() string { return e.msg }

// errReported is a flag parsing error that the flag package has already
// printed, with the usage, so run must not print it again.
type errReported struct{ err error }

func (e errReported) Error() string { return e.err.Error() }

func usageErrorf(format string, args ...any) error {
	return errUsage{fmt.Sprintf(format, args...)}
}

// newFlagSet returns a flag set that reports errors instead of exiting, with
// output to the command's stderr.
func newFlagSet(c *cli, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: tributary %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseArgs parses flags that may come before, between or after positional
// arguments (`topic create NAME --partitions 3`), which flag.Parse alone does
// not allow. Everything after "--" is positional.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errReported{err}
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// kvList is a repeatable name=value flag, such as --config retention.ms=1000.
type kvList struct {
	keys   []string
	values map[string]string
}

func (l *kvList) String() string {
	if l == nil {
		return ""
	}
	parts := make([]string, 0, len(l.keys))
	for _, k := range l.keys {
		parts = append(parts, k+"="+l.values[k])
	}
	return strings.Join(parts, ",")
}

func (l *kvList) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q: want name=value", s)
	}
	if l.values == nil {
		l.values = make(map[string]string)
	}
	if _, dup := l.values[k]; !dup {
		l.keys = append(l.keys, k)
	}
	l.values[k] = v
	return nil
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }
