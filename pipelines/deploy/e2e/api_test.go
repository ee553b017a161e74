package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestConnectorAPIAndCLI walks a file source connector through every
// connector endpoint of the REST API and every `tributary connector`
// action: plugins and their config spec, validate, create, list, info,
// config, tasks, status, pause, resume, restart of the connector and of a
// task, update (valid and invalid) and delete. Each step is checked by its
// effect: records reaching the topic, the plugin process stopping or being
// replaced.
func TestConnectorAPIAndCLI(t *testing.T) {
	root := t.TempDir()
	logs := filepath.Join(root, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	n := startNode(t, filepath.Join(root, "data"), "", "", "")
	if out, code := n.cli(t, "topic", "create", "lines", "--partitions", "1"); code != 0 {
		t.Fatalf("topic create: %s", out)
	}
	cli := func(args ...string) string {
		t.Helper()
		out, code := n.cli(t, args...)
		if code != 0 {
			t.Fatalf("tributary %s: exit %d\n%s", strings.Join(args, " "), code, out)
		}
		return out
	}
	lineNo := 0
	appendLines := func(k int) {
		t.Helper()
		f, err := os.OpenFile(filepath.Join(logs, "app.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for range k {
			lineNo++
			fmt.Fprintf(f, "line-%04d\n", lineNo)
		}
	}
	allIn := func(what string) {
		t.Helper()
		waitFor(t, 30*time.Second, what, func() bool { return len(readAll(t, n.kafka, "lines")) == lineNo })
		got := strs(readAll(t, n.kafka, "lines"))
		for i, g := range got {
			if want := fmt.Sprintf("line-%04d", i+1); g != want {
				t.Fatalf("record %d is %q, want %q", i, g, want)
			}
		}
	}
	state := func() taskStatus {
		var st taskStatus
		if code := n.call(t, "GET", "/connectors/tail/status", nil, &st); code != 200 {
			t.Fatalf("GET status: %d", code)
		}
		return st
	}
	waitState := func(want string) {
		t.Helper()
		waitFor(t, 30*time.Second, "connector state "+want, func() bool {
			st := state()
			return st.Connector.State == want && len(st.Tasks) == 1 && st.Tasks[0].State == want
		})
	}
	onePID := func(what string) int {
		t.Helper()
		var pid int
		waitFor(t, 30*time.Second, what, func() bool {
			ps := pluginPIDs()
			if len(ps) == 1 {
				pid = ps[0]
			}
			return len(ps) == 1
		})
		return pid
	}

	// Plugins and their config spec.
	var plugs []struct {
		Class, Version string
		Kinds          []string
	}
	if code := n.call(t, "GET", "/connector-plugins", nil, &plugs); code != 200 || len(plugs) != 1 ||
		plugs[0].Class != "file" || plugs[0].Version == "" || !slices.Equal(plugs[0].Kinds, []string{"source", "sink"}) {
		t.Fatalf("GET /connector-plugins: %d %+v", code, plugs)
	}
	if out := cli("connector", "plugins"); !strings.Contains(out, "file") || !strings.Contains(out, "source,sink") {
		t.Fatalf("connector plugins:\n%s", out)
	}
	var fields []struct {
		Kind, Name, Type, Documentation string
		Required                        bool
	}
	if code := n.call(t, "GET", "/connector-plugins/file/config", nil, &fields); code != 200 {
		t.Fatalf("GET plugin config: %d", code)
	}
	want := map[string]bool{"source/paths": true, "sink/dir": true}
	for _, f := range fields {
		if f.Documentation == "" || f.Type == "" {
			t.Errorf("field %s/%s lacks its type or documentation: %+v", f.Kind, f.Name, f)
		}
		if want[f.Kind+"/"+f.Name] {
			if !f.Required {
				t.Errorf("%s/%s is not required", f.Kind, f.Name)
			}
			delete(want, f.Kind+"/"+f.Name)
		}
	}
	if len(want) > 0 {
		t.Fatalf("plugin config spec lacks %v: %+v", want, fields)
	}
	if code := n.call(t, "GET", "/connector-plugins/nope/config", nil, nil); code != 404 {
		t.Fatalf("GET spec of an unknown plugin: %d", code)
	}
	if out := cli("connector", "spec", "file"); !strings.Contains(out, "paths") || !strings.Contains(out, "roll.bytes") {
		t.Fatalf("connector spec file:\n%s", out)
	}

	// Validate, then create through the CLI.
	paths := "paths=" + filepath.Join(logs, "*.log")
	if out := cli("connector", "validate", "file", "type=source", "topic=lines", paths); !strings.Contains(out, "valid") {
		t.Fatalf("connector validate:\n%s", out)
	}
	var v struct {
		ErrorCount int `json:"error_count"`
	}
	if code := n.call(t, "PUT", "/connector-plugins/file/config/validate", map[string]string{"type": "source", "topic": "lines"}, &v); code != 200 || v.ErrorCount != 1 {
		t.Fatalf("validate without paths: %d, %d problems", code, v.ErrorCount)
	}
	appendLines(50)
	cli("connector", "create", "tail", "type=source", "plugin=file", "topic=lines", paths, "poll.interval=20ms")
	if code := n.call(t, "POST", "/connectors", map[string]any{"name": "tail", "config": map[string]string{
		"plugin": "file", "type": "source", "topic": "lines", "paths": logs + "/*.log"}}, nil); code != 409 {
		t.Fatalf("second create of tail: %d, want 409", code)
	}
	waitState("running")
	allIn("the first 50 lines")

	// Where it lives: the config in __tributary_configs, the task's state in
	// __tributary_status, its source position in __tributary_offsets, all
	// three compacted.
	latest := func(topic, key string) string {
		v := ""
		for _, r := range readAllRecords(t, n.kafka, topic) {
			if string(r.Key) == key {
				v = string(r.Value)
			}
		}
		return v
	}
	if v := latest("__tributary_configs", "connector/tail"); !strings.Contains(v, `"poll.interval"`) || !strings.Contains(v, "lines") {
		t.Fatalf("__tributary_configs record of the connector: %q", v)
	}
	if v := latest("__tributary_status", "connector/tail/0"); !strings.Contains(v, "running") {
		t.Fatalf("__tributary_status record of task 0: %q", v)
	}
	if v := latest("__tributary_offsets", "tail-0"); !strings.Contains(v, `"position"`) {
		t.Fatalf("__tributary_offsets record of task 0: %q", v)
	}
	described, err := kadm.NewClient(client(t, n.kafka)).DescribeTopicConfigs(context.Background(),
		"__tributary_configs", "__tributary_status", "__tributary_offsets")
	if err != nil {
		t.Fatal(err)
	}
	if len(described) != 3 {
		t.Fatalf("described %d internal topics, want 3", len(described))
	}
	for _, rc := range described {
		policy := ""
		for _, c := range rc.Configs {
			if c.Key == "cleanup.policy" {
				policy = c.MaybeValue()
			}
		}
		if rc.Err != nil || policy != "compact" {
			t.Errorf("%s: cleanup.policy %q (%v), want compact", rc.Name, policy, rc.Err)
		}
	}

	// Reading: list, info, config, tasks, task status.
	var names []string
	if n.call(t, "GET", "/connectors", nil, &names); !slices.Equal(names, []string{"tail"}) {
		t.Fatalf("GET /connectors: %v", names)
	}
	if out := cli("connector", "list"); !strings.Contains(out, "tail") || !strings.Contains(out, "running") {
		t.Fatalf("connector list:\n%s", out)
	}
	var info struct {
		Name   string
		Type   string
		Config map[string]string
		Tasks  []struct {
			Connector string
			Task      int
		}
	}
	if code := n.call(t, "GET", "/connectors/tail", nil, &info); code != 200 || info.Type != "source" ||
		info.Config["poll.interval"] != "20ms" || len(info.Tasks) != 1 || info.Tasks[0].Connector != "tail" {
		t.Fatalf("GET /connectors/tail: %d %+v", code, info)
	}
	var cfg map[string]string
	if n.call(t, "GET", "/connectors/tail/config", nil, &cfg); cfg["topic"] != "lines" || cfg["paths"] != logs+"/*.log" {
		t.Fatalf("GET config: %v", cfg)
	}
	var tasks []struct {
		Config map[string]string
	}
	if n.call(t, "GET", "/connectors/tail/tasks", nil, &tasks); len(tasks) != 1 || tasks[0].Config["plugin"] != "file" {
		t.Fatalf("GET tasks: %+v", tasks)
	}
	var ts struct {
		ID     int    `json:"id"`
		State  string `json:"state"`
		Worker string `json:"worker_id"`
	}
	if code := n.call(t, "GET", "/connectors/tail/tasks/0/status", nil, &ts); code != 200 || ts.State != "running" || ts.Worker != "node-1" {
		t.Fatalf("GET task 0 status: %d %+v", code, ts)
	}
	if code := n.call(t, "GET", "/connectors/tail/tasks/1/status", nil, nil); code != 404 {
		t.Fatalf("GET status of task 1 of a one-task connector: %d", code)
	}
	if out := cli("connector", "describe", "tail"); !strings.Contains(out, "poll.interval = 20ms") || !strings.Contains(out, "node-1") {
		t.Fatalf("connector describe:\n%s", out)
	}

	// Pause stops the task and its plugin; resume carries on where it was.
	cli("connector", "pause", "tail")
	waitState("paused")
	if v := latest("__tributary_status", "connector/tail/0"); !strings.Contains(v, "paused") {
		t.Fatalf("__tributary_status record of the paused task: %q", v)
	}
	waitFor(t, 30*time.Second, "the paused connector's plugin to exit", func() bool { return len(pluginPIDs()) == 0 })
	appendLines(30)
	cli("connector", "resume", "tail")
	waitState("running")
	allIn("the lines written while paused")

	// Restart the connector, then one task (REST and CLI): each replaces
	// the plugin process, and nothing is read twice.
	pid := onePID("one plugin process")
	if code := n.call(t, "POST", "/connectors/tail/restart", nil, nil); code/100 != 2 {
		t.Fatalf("POST restart: %d", code)
	}
	waitFor(t, 30*time.Second, "a new plugin process after the restart", func() bool {
		ps := pluginPIDs()
		return len(ps) == 1 && ps[0] != pid
	})
	pid = onePID("one plugin process after the restart")
	if code := n.call(t, "POST", "/connectors/tail/tasks/1/restart", nil, nil); code != 404 {
		t.Fatalf("restart of task 1 of a one-task connector: %d, want 404", code)
	}
	cli("connector", "restart", "tail", "--task", "0")
	waitFor(t, 30*time.Second, "a new plugin process after the task restart", func() bool {
		ps := pluginPIDs()
		return len(ps) == 1 && ps[0] != pid
	})
	waitState("running")
	appendLines(20)
	allIn("the lines written after the restarts")

	// Update: an invalid config is refused with its problems and changes
	// nothing; a valid one replaces the config.
	out, code := n.cli(t, "connector", "update", "tail", "type=source", "plugin=file", "topic=lines", paths, "poll.interval=often")
	if code == 0 || !strings.Contains(out, "poll.interval") {
		t.Fatalf("update with a bad poll.interval: exit %d\n%s", code, out)
	}
	if n.call(t, "GET", "/connectors/tail/config", nil, &cfg); cfg["poll.interval"] != "20ms" {
		t.Fatalf("config after a refused update: %v", cfg)
	}
	cli("connector", "update", "tail", "type=source", "plugin=file", "topic=lines", paths, "poll.interval=30ms")
	if n.call(t, "GET", "/connectors/tail/config", nil, &cfg); cfg["poll.interval"] != "30ms" {
		t.Fatalf("config after update: %v", cfg)
	}
	waitState("running")
	appendLines(10)
	allIn("the lines written after the update")

	// Delete stops the task and forgets the connector.
	if out := cli("connector", "delete", "tail"); !strings.Contains(out, "deleted") {
		t.Fatalf("connector delete:\n%s", out)
	}
	if code := n.call(t, "GET", "/connectors/tail", nil, nil); code != 404 {
		t.Fatalf("GET a deleted connector: %d", code)
	}
	waitFor(t, 30*time.Second, "the deleted connector's plugin to exit", func() bool { return len(pluginPIDs()) == 0 })
	if n.call(t, "GET", "/connectors", nil, &names); len(names) != 0 {
		t.Fatalf("connectors after delete: %v", names)
	}
}

func client(t *testing.T, seeds string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}
