package pipelines

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/pipelines/spec/spectest"
	"github.com/tributary-io/tributary/sdk"
)

// header is the start of a Pipeline manifest called p; the spec's first
// line is line 6.
const header = spectest.Header

// want is an expected problem: its line and column, and text the message
// must contain.
type want = spectest.Problem

func TestInvalidManifests(t *testing.T) {
	invalid := spectest.Invalid()
	if len(invalid) < 20 {
		t.Fatalf("only %d invalid manifests; the issue asks for at least 20", len(invalid))
	}
	for _, tc := range invalid {
		t.Run(tc.Name, func(t *testing.T) {
			b, probs := LoadBytes(context.Background(), "f.yaml", []byte(tc.Src), Options{})
			if b != nil {
				t.Fatalf("got a bundle for invalid manifests")
			}
			if len(probs) != len(tc.Want) {
				t.Errorf("got %d problems, want %d:\n%v", len(probs), len(tc.Want), probs)
			}
			for i, w := range tc.Want {
				if i >= len(probs) {
					t.Errorf("missing problem %v", w)
					continue
				}
				p := probs[i]
				if p.Pos.File != "f.yaml" || p.Pos.Line != w.Line || p.Pos.Col != w.Col || !strings.Contains(p.String(), w.Text) {
					t.Errorf("problem %d:\n got  %s\n want f.yaml:%v", i, p, w)
				}
			}
		})
	}
}

// TestAllProblemsAtOnce puts every invalid manifest of the table in one
// directory and checks that one Load reports all their problems.
func TestAllProblemsAtOnce(t *testing.T) {
	dir := t.TempDir()
	total := 0
	for i, tc := range spectest.Invalid() {
		if tc.Name == "pipeline defined twice" {
			continue // its name would clash with the other files' p
		}
		// Distinct names, or the files would also clash with each other.
		src := strings.ReplaceAll(tc.Src, "name: p\n", fmt.Sprintf("name: p%d\n", i))
		src = strings.ReplaceAll(src, "metadata: {name: ", fmt.Sprintf("metadata: {name: m%d-", i))
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("m%02d.yaml", i)), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		total += len(tc.Want)
	}
	_, probs := Load(context.Background(), []string{dir}, Options{})
	if len(probs) != total {
		t.Fatalf("got %d problems from one Load, want %d:\n%v", len(probs), total, probs)
	}
	for i := 1; i < len(probs); i++ {
		a, b := probs[i-1].Pos, probs[i].Pos
		if a.File > b.File || (a.File == b.File && a.Line > b.Line) {
			t.Fatalf("problems not sorted: %s before %s", a, b)
		}
	}
}

func TestExamplesAreValid(t *testing.T) {
	b, probs := Load(context.Background(), []string{"examples"}, Options{})
	if len(probs) > 0 {
		t.Fatalf("examples do not validate:\n%v", probs)
	}
	if len(b.Manifests) != 11 || len(b.Programs) != 3 {
		t.Fatalf("got %d manifests and %d programs, want 11 and 3", len(b.Manifests), len(b.Programs))
	}
	if len(b.Notes) != 1 || !strings.Contains(b.Notes[0], "3 connector config(s) were checked for structure only") {
		t.Fatalf("notes = %q, want one saying connector configs were not validated", b.Notes)
	}
	if _, _, err := b.Pipeline(""); err == nil || !strings.Contains(err.Error(), "several pipelines (orders-feed, slow-and-failed, revenue-by-country)") {
		t.Fatalf("Pipeline(\"\") = %v, want an error naming both pipelines", err)
	}
	m, prog, err := b.Pipeline("orders-feed")
	if err != nil || m.Pipeline == nil || prog == nil {
		t.Fatalf("Pipeline(orders-feed) = %v, %v, %v", m, prog, err)
	}
	if m.Pipeline.TopicToTopic() {
		t.Fatal("orders-feed has connectors but says topic to topic")
	}
}

// fakePlugins validates connector configs like a plugin would: "file" knows
// paths (required) and start.
type fakePlugins struct{ calls int }

func (f *fakePlugins) Validate(_ context.Context, plugin string, kind sdk.Kind, raw map[string]string) ([]sdk.Problem, error) {
	f.calls++
	if plugin != "file" {
		return nil, fmt.Errorf("plugins: unknown plugin %q", plugin)
	}
	spec := sdk.ConfigSpec{Fields: []sdk.Field{
		{Name: "paths", Type: sdk.List, Required: true, Description: "files"},
		{Name: "start", Type: sdk.String, Enum: []string{"beginning", "end"}, Description: "where"},
	}}
	_, err := spec.Parse(raw)
	return sdk.Problems(err), nil
}

func TestConnectorConfigsValidatedByPlugin(t *testing.T) {
	src := "apiVersion: tributary.io/v1\nkind: Connector\nmetadata: {name: c}\nspec:\n  plugin: file\n  type: source\n  topic: raw\n  config:\n    start: middle\n    colour: red\n" +
		"---\n" + header + "  input:\n    connector: {plugin: postgres, config: {dsn: x}}\n  outputs: [{topic: b}]\n"
	plugins := &fakePlugins{}
	_, probs := LoadBytes(context.Background(), "f.yaml", []byte(src), Options{Connectors: plugins})
	wants := []want{
		{Line: 9, Col: 5, Text: `spec.config.start: must be one of beginning, end`},
		{Line: 9, Col: 5, Text: `spec.config.paths: required field is missing`},
		{Line: 10, Col: 5, Text: `spec.config.colour: unknown field`},
		{Line: 18, Col: 25, Text: `spec.input.connector.plugin: plugins: unknown plugin "postgres"`},
	}
	if plugins.calls != 2 {
		t.Errorf("the plugins were asked %d times, want 2", plugins.calls)
	}
	if len(probs) != len(wants) {
		t.Errorf("got %d problems, want %d:\n%v", len(probs), len(wants), probs)
	}
	for _, w := range wants {
		found := false
		for _, p := range probs {
			if p.Pos.Line == w.Line && p.Pos.Col == w.Col && strings.Contains(p.String(), w.Text) {
				found = true
			}
		}
		if !found {
			t.Errorf("missing %v in:\n%v", w, probs)
		}
	}
}

func TestLoadFiles(t *testing.T) {
	dir := t.TempDir()
	valid := header + "  input: {topics: [a]}\n  outputs: [{topic: b}]\n"
	files := map[string]string{
		"p.yaml":          valid,
		"p_test.yaml":     "pipeline: p.yaml\n", // a test file, not a manifest
		".hidden/x.yaml":  "not: a manifest\n",
		"notes.txt":       "ignored",
		"empty/skip.yml":  "# nothing\n",
		"sub/topic.yml":   "apiVersion: tributary.io/v1\nkind: Topic\nmetadata: {name: a}\nspec: {partitions: 2}\n",
		"sub/topic2.yaml": "---\n---\napiVersion: tributary.io/v1\nkind: Topic\nmetadata: {name: b}\nspec: {}\n---\n",
	}
	for name, src := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, probs := Load(context.Background(), []string{dir}, Options{})
	if len(probs) != 1 || !strings.HasSuffix(probs[0].Pos.File, "skip.yml") || probs[0].Msg != "no manifests in the file" {
		t.Fatalf("problems = %v, want only skip.yml having no manifests", probs)
	}
	if err := os.Remove(filepath.Join(dir, "empty/skip.yml")); err != nil {
		t.Fatal(err)
	}
	b, probs := Load(context.Background(), []string{dir}, Options{})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if len(b.Manifests) != 3 || len(b.Topics()) != 2 || b.Topics()[0].Topic.Partitions != 2 || b.Topics()[1].Topic.Partitions != -1 {
		t.Fatalf("got %d manifests, topics %v", len(b.Manifests), b.Topics())
	}
	_, probs = Load(context.Background(), []string{filepath.Join(dir, "missing.yaml"), t.TempDir()}, Options{})
	if len(probs) != 2 || !strings.Contains(probs[0].Msg, "no such file") || !strings.Contains(probs[1].Msg, "no *.yaml or *.yml manifests") {
		t.Fatalf("problems = %v", probs)
	}
}

// TestReadmeShowsExamples keeps the README's examples the files that the
// tests lint and run.
func TestReadmeShowsExamples(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"logs.yaml", "logs_test.yaml", "cdc.yaml", "cdc_test.yaml", "cdc_events.jsonl", "revenue.yaml", "revenue_test.yaml"} {
		b, err := os.ReadFile(filepath.Join("examples", f))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(readme), "\n"+string(b)+"```") {
			t.Errorf("README.md does not show examples/%s as it is", f)
		}
	}
	if !strings.Contains(string(readme), "`postgres` CDC connector\nof issue #8") {
		t.Error("README.md does not say where the postgres connector comes from")
	}
}
