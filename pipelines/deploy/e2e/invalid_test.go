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

	"github.com/tributary-io/tributary/pipelines/spec/spectest"
)

// guard is a valid topic, connector and pipeline applied together with
// every invalid manifest: had apply changed anything before validating
// everything, they would exist.
func guard(logDir string) string {
	return fmt.Sprintf(`apiVersion: tributary.io/v1
kind: Topic
metadata: {name: guard-in}
spec: {partitions: 1}
---
apiVersion: tributary.io/v1
kind: Topic
metadata: {name: guard-out}
spec: {partitions: 1}
---
apiVersion: tributary.io/v1
kind: Connector
metadata: {name: guard-files}
spec:
  plugin: file
  type: source
  topic: guard-in
  config:
    paths: [%s/*.log]
---
apiVersion: tributary.io/v1
kind: Pipeline
metadata: {name: guard}
spec:
  input: {topics: [guard-in]}
  outputs: [{topic: guard-out}]
`, logDir)
}

// TestInvalidManifestsChangeNothing applies every manifest of the table of
// invalid manifests (pipelines/spec/spectest, at least 20) to a running
// node with `tributary apply -f DIR`, next to valid manifests: each apply
// fails, prints exactly the expected problems at their file, line and
// column, and the cluster has no new topic, connector or pipeline
// afterwards. The pipeline manifests are also PUT through the REST API,
// which rejects them with the same positions. Finally the valid manifests
// alone apply, so the check above could have seen them.
func TestInvalidManifestsChangeNothing(t *testing.T) {
	root := t.TempDir()
	n := startNode(t, filepath.Join(root, "data"), "", "", "")
	logDir := filepath.Join(root, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	before := userTopics(t, n.kafka)

	cases := spectest.Invalid()
	if len(cases) < 20 {
		t.Fatalf("%d invalid manifests, the issue asks for at least 20", len(cases))
	}
	for i, tc := range cases {
		dir := filepath.Join(root, fmt.Sprintf("case%02d", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		writeDir(t, dir, map[string]string{"guard.yaml": guard(logDir), "f.yaml": tc.Src})
		file := filepath.Join(dir, "f.yaml")
		out, code := n.cli(t, "apply", "-f", dir)
		var lines []string
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, dir+string(filepath.Separator)) {
				lines = append(lines, l)
			}
		}
		ok := code != 0 && strings.Contains(out, "nothing was changed") && len(lines) == len(tc.Want)
		for _, w := range tc.Want {
			at := fmt.Sprintf("%s:%d:%d: ", file, w.Line, w.Col)
			text := strings.ReplaceAll(w.Text, "f.yaml", file)
			if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, at) && strings.Contains(l, text) }) {
				ok = false
				t.Errorf("%s: apply does not report %s%s", tc.Name, at, text)
			}
		}
		if !ok {
			t.Errorf("%s: apply exit %d, want 1 with exactly %d problem(s); output:\n%s", tc.Name, code, len(tc.Want), out)
		}

		if !strings.HasPrefix(tc.Src, spectest.Header) {
			continue
		}
		var resp struct {
			Lines []string `json:"manifest_problems"`
		}
		if code := n.call(t, "PUT", "/pipelines/p", map[string]string{"manifest": tc.Src}, &resp); code != 400 {
			t.Errorf("%s: PUT /pipelines/p: %d, want 400", tc.Name, code)
		}
		for _, w := range tc.Want {
			at := fmt.Sprintf("pipeline/p:%d:%d: ", w.Line, w.Col)
			text := strings.ReplaceAll(w.Text, "f.yaml", "pipeline/p")
			if !slices.ContainsFunc(resp.Lines, func(l string) bool { return strings.HasPrefix(l, at) && strings.Contains(l, text) }) {
				t.Errorf("%s: the REST API does not report %s%s in %q", tc.Name, at, text, resp.Lines)
			}
		}
	}

	var names []string
	if n.call(t, "GET", "/pipelines", nil, &names); len(names) != 0 {
		t.Errorf("pipelines after %d rejected applies: %v", len(cases), names)
	}
	if n.call(t, "GET", "/connectors", nil, &names); len(names) != 0 {
		t.Errorf("connectors after %d rejected applies: %v", len(cases), names)
	}
	if after := userTopics(t, n.kafka); !slices.Equal(after, before) {
		t.Errorf("topics after %d rejected applies: %v, before: %v", len(cases), after, before)
	}
	if t.Failed() {
		return
	}

	dir := filepath.Join(root, "valid")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeDir(t, dir, map[string]string{"guard.yaml": guard(logDir)})
	out, code := n.cli(t, "apply", "-f", dir)
	if code != 0 || !strings.Contains(out, "+ pipeline/guard created") || !strings.Contains(out, "+ connector/guard-files created") {
		t.Fatalf("apply of the valid manifests alone: exit %d, output:\n%s", code, out)
	}
	if after := userTopics(t, n.kafka); !slices.Equal(after, append(before, "guard-in", "guard-out")) {
		t.Fatalf("topics after the valid apply: %v", after)
	}
}

// userTopics lists the topics whose names do not start with "__", sorted.
func userTopics(t *testing.T, seeds string) []string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tds, err := kadm.NewClient(cl).ListTopics(ctx)
	if err != nil {
		t.Fatalf("list topics: %v", err)
	}
	var out []string
	for _, name := range tds.Names() {
		if !strings.HasPrefix(name, "__") {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
