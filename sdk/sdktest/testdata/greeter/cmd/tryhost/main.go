// Command tryhost runs the greeter through the Tributary plugin host.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/tributary-io/tributary/plugins"
	"github.com/tributary-io/tributary/sdk"
)

func main() {
	ctx := context.Background()
	reg, err := plugins.NewRegistry(plugins.Config{Dir: "bin/plugins", Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		panic(err)
	}
	if err := reg.Discover(ctx); err != nil {
		panic(err)
	}
	for _, m := range reg.Plugins() {
		fmt.Println("found", m.Name, m.Version, m.Kinds)
	}
	// An invalid config: every problem at once, found by the plugin itself.
	_, err = reg.ParseConfig(ctx, "greeter", sdk.KindSource, map[string]string{"interval": "soon", "colour": "red"})
	fmt.Println(err)

	cfg, err := reg.ParseConfig(ctx, "greeter", sdk.KindSource, map[string]string{"who": "world", "count": "3"})
	if err != nil {
		panic(err)
	}
	src, err := reg.NewSource("greeter")
	if err != nil {
		panic(err)
	}
	defer src.Close()
	if err := src.Open(ctx, cfg, nil); err != nil {
		panic(err)
	}
	for n := 0; n < 3; {
		recs, err := src.Read(ctx, 100)
		if err != nil {
			panic(err)
		}
		for _, r := range recs {
			fmt.Println(string(r.Value))
		}
		n += len(recs)
	}
}
