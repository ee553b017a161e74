package main

import (
	"context"
	"fmt"

	"github.com/tributary-io/tributary/pipelines/spec"
)

// runLint validates manifests offline: `tributary lint FILE|DIR...`.
func runLint(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "lint", "lint [--plugin-dir DIR] FILE|DIR...")
	pluginDir := fs.String("plugin-dir", "", "validate connector configs with the plugins in this `directory` (without it, connector configs are checked for structure only)")
	paths, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return usageErrorf("no manifests given")
	}
	b, err := loadManifests(ctx, c, c.stdout, paths, *pluginDir)
	if err != nil {
		return err
	}
	count := map[spec.Kind]int{}
	files := map[string]bool{}
	for _, m := range b.Manifests {
		count[m.Kind]++
		files[m.Pos.File] = true
	}
	fmt.Fprintf(c.stdout, "ok: %d manifest(s) in %d file(s): %d Topic, %d Connector, %d Pipeline\n",
		len(b.Manifests), len(files), count[spec.KindTopic], count[spec.KindConnector], count[spec.KindPipeline])
	return nil
}
