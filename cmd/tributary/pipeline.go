package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/tributary-io/tributary/pipelines"
	"github.com/tributary-io/tributary/pipelines/pipetest"
	"github.com/tributary-io/tributary/pipelines/runner"
	"github.com/tributary-io/tributary/pipelines/spec"
	"github.com/tributary-io/tributary/plugins"
)

// runPipeline dispatches `tributary pipeline <action>`.
func runPipeline(ctx context.Context, c *cli, args []string) error {
	return dispatch(ctx, c, "pipeline", args, []action{
		{"run", "run one pipeline in the foreground until Ctrl-C", pipelineRun},
		{"test", "run a pipeline's test file offline and compare with the expected output", pipelineTest},
		{"list", "list deployed pipelines with their state (REST API)", pipelineList},
		{"describe", "show a deployed pipeline's manifest and state", pipelineDescribe},
		{"logs", "show a deployed pipeline's last state and error", pipelineLogs},
		{"pause", "pause a deployed pipeline", apiSimple("PUT", "/pipelines/%s/pause", "paused")},
		{"resume", "resume a paused pipeline", apiSimple("PUT", "/pipelines/%s/resume", "resumed")},
		{"restart", "restart a deployed pipeline from its committed offsets", apiSimple("POST", "/pipelines/%s/restart", "restarted")},
	})
}

// loadManifests validates paths, with connector configs checked by the
// plugins in pluginDir when it is set, and prints every problem to w.
func loadManifests(ctx context.Context, c *cli, w io.Writer, paths []string, pluginDir string) (*pipelines.Bundle, error) {
	var opts pipelines.Options
	if pluginDir != "" {
		reg, err := plugins.NewRegistry(plugins.Config{Dir: pluginDir, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return nil, err
		}
		if err := reg.Discover(ctx); err != nil {
			// The plugins that did load still validate their connectors.
			fmt.Fprintf(c.stderr, "warning: plugin discovery: %v\n", err)
		}
		opts.Connectors = reg
	}
	b, probs := pipelines.Load(ctx, paths, opts)
	if len(probs) > 0 {
		for _, p := range probs {
			fmt.Fprintln(w, p)
		}
		return nil, fmt.Errorf("%d problem(s) found; nothing was run or changed", len(probs))
	}
	for _, n := range b.Notes {
		fmt.Fprintf(c.stderr, "note: %s\n", n)
	}
	return b, nil
}

func pipelineRun(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "pipeline run", "pipeline run -f FILE|DIR [--name NAME] [--bootstrap ADDRS] [--instance ID]")
	cf := addClientFlags(fs, c)
	var files stringList
	fs.Var(&files, "f", "manifest `file or directory`, repeatable; Topic manifests in it are created when missing")
	name := fs.String("name", "", "the pipeline to run when the manifests declare several")
	instance := fs.String("instance", "", "this process's instance id, unique among processes running the pipeline (default: the host name)")
	pluginDir := fs.String("plugin-dir", "", "validate connector configs with the plugins in this `directory`")
	sessionTimeout := fs.Duration("session-timeout", 30*time.Second, "consumer group session timeout")
	maxPoll := fs.Int("max-poll-records", 2000, "records per batch (one transaction under exactly-once)")
	statsEvery := fs.Duration("stats-interval", 10*time.Second, "log the pipeline's counters this often (0: only at the end)")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := cf.check(); err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErrorf("unexpected arguments %v: give manifests with -f", rest)
	}
	if len(files) == 0 {
		return usageErrorf("no manifests: give -f FILE")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usageErrorf("--log-level %q: want debug, info, warn or error", *logLevel)
	}
	log := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: level}))

	b, err := loadManifests(ctx, c, c.stderr, files, *pluginDir)
	if err != nil {
		return err
	}
	m, prog, err := b.Pipeline(*name)
	if err != nil {
		return err
	}
	r, err := runner.New(runner.Config{
		Name: m.Name, Spec: m.Pipeline, Program: prog, Seeds: cf.seeds(), InstanceID: *instance,
		Logger: log, SessionTimeout: *sessionTimeout, MaxPollRecords: *maxPoll,
	})
	if err != nil {
		return err
	}
	if err := createTopics(ctx, cf, b.Topics(), log); err != nil {
		return err
	}
	log.Info("pipeline starting", "pipeline", m.Name, "group", runner.Group(m.Name), "plan", m.Pipeline.String())

	return r.RunLogged(ctx, log, *statsEvery)
}

// createTopics creates the Topic manifests' topics that do not exist yet.
// An existing topic is left as it is.
func createTopics(ctx context.Context, cf *clientFlags, topics []*spec.Manifest, log *slog.Logger) error {
	if len(topics) == 0 {
		return nil
	}
	adm, err := cf.newAdmin()
	if err != nil {
		return err
	}
	defer adm.Close()
	for _, t := range topics {
		rctx, cancel := cf.requestContext(ctx)
		configs := make(map[string]*string, len(t.Topic.Config.Keys))
		for _, k := range t.Topic.Config.Keys {
			v := t.Topic.Config.Values[k]
			configs[k] = &v
		}
		resp, err := adm.CreateTopic(rctx, int32(t.Topic.Partitions), int16(t.Topic.ReplicationFactor), configs, t.Name)
		cancel()
		if err == nil {
			err = resp.Err
		}
		switch {
		case err == nil:
			log.Info("topic created", "topic", t.Name, "partitions", resp.NumPartitions)
		case errors.Is(err, kerr.TopicAlreadyExists):
		default:
			return fmt.Errorf("create topic %s (%s): %w", t.Name, t.Pos, err)
		}
	}
	return nil
}

func pipelineTest(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "pipeline test", "pipeline test FILE...")
	files, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usageErrorf("no test file given")
	}
	var total pipetest.Result
	var errs []error
	for _, f := range files {
		res, err := pipetest.Run(ctx, f, c.stdout)
		total.Passed += res.Passed
		total.Failed += res.Failed
		if err != nil {
			errs = append(errs, err)
		}
	}
	fmt.Fprintf(c.stdout, "%d passed, %d failed\n", total.Passed, total.Failed)
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if total.Failed > 0 {
		return fmt.Errorf("%d test case(s) failed", total.Failed)
	}
	return nil
}
