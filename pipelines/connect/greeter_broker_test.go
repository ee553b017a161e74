package connect_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tributary-io/tributary/pipelines/connect"
	"github.com/tributary-io/tributary/plugins"
	"github.com/tributary-io/tributary/sdk"
)

// TestReadmeGreeterMovesRecords takes the plugin that sdk/README.md builds
// from scratch, written against sdk only (sdk/sdktest/testdata/greeter),
// through the whole path: built into a plugin directory, discovered with
// its manifest, an invalid config refused with every problem, then run by
// a source task that writes its greetings into a topic.
func TestReadmeGreeterMovesRecords(t *testing.T) {
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "greeter"), "../../sdk/sdktest/testdata/greeter")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the greeter plugin: %v\n%s", err, out)
	}
	reg, err := plugins.NewRegistry(plugins.Config{Dir: dir,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := reg.Discover(ctx); err != nil {
		t.Fatal(err)
	}
	m, ok := reg.Plugin("greeter")
	if !ok || m.Version.String() != "0.1.0" || !slices.Equal(m.Kinds, []sdk.Kind{sdk.KindSource}) {
		t.Fatalf("discovered %+v (found %v), want greeter 0.1.0, a source", m, ok)
	}
	host := connect.RegistryHost{Registry: reg}

	_, probs, err := connect.Validate(ctx, host, "greet", map[string]string{
		"plugin": "greeter", "type": "source", "topic": "greetings", "interval": "soon", "colour": "red"})
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]string{}
	for _, p := range probs {
		fields[p.Field] = p.Value
	}
	if want := map[string]string{"colour": "red", "interval": "soon", "who": ""}; len(probs) != 3 || !maps.Equal(fields, want) {
		t.Fatalf("problems %+v, want one each for %v", probs, want)
	}

	addr := startBroker(t)
	createTopics(t, addr, "greetings")
	var st states
	cfg := taskConfig(t, addr, host, map[string]string{
		"plugin": "greeter", "type": "source", "topic": "greetings", "who": "world", "count": "10", "interval": "1ms"}, &st)
	task, err := connect.NewSourceTask(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runTask(t, task.Run)
	waitFor(t, 30*time.Second, "ten greetings in the topic", func() bool { return len(committedRecords(t, addr, "greetings")) >= 10 })
	got := committedRecords(t, addr, "greetings")
	if len(got) != 10 {
		t.Fatalf("%d greetings in the topic, want 10", len(got))
	}
	for i, r := range got {
		if want := fmt.Sprintf("hello, world #%d", i); string(r.Value) != want {
			t.Fatalf("greeting %d is %q, want %q", i, r.Value, want)
		}
	}
}
