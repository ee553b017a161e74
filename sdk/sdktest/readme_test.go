package sdktest

import (
	"bytes"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// greeterFiles maps the first line of each Go block of the walk-through in
// sdk/README.md to the file of testdata/greeter holding it.
var greeterFiles = map[string]string{
	"// Package greeter is": "greeter/greeter.go",
	"// Command greeter is": "main.go",
	"package greeter":       "greeter/greeter_test.go",
	"// Command tryhost":    "cmd/tryhost/main.go",
}

// readmeImport is the walk-through's module path; testdata/greeter lives in
// this module instead.
const readmeImport = `"example.com/greeter/greeter"`

// TestReadmeWalkthroughIsTestdata keeps sdk/README.md honest: the plugin,
// main and tests it builds from scratch are, word for word, the files of
// testdata/greeter (up to the module path), which the tests below build,
// run and drive through the host (plugins.TestReadmeGreeterThroughHost).
func TestReadmeWalkthroughIsTestdata(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile("(?s)```go\n(.*?)```").FindAllSubmatch(readme, -1) {
		block := m[1]
		var file string
		for prefix, f := range greeterFiles {
			if bytes.HasPrefix(block, []byte(prefix+"\n")) || bytes.HasPrefix(block, []byte(prefix+" ")) {
				file = f
			}
		}
		if file == "" {
			t.Fatalf("a Go block of sdk/README.md is not in testdata/greeter:\n%s", block)
		}
		seen[file] = true
		want, err := format.Source(bytes.ReplaceAll(block, []byte(readmeImport),
			[]byte(`"github.com/tributary-io/tributary/sdk/sdktest/testdata/greeter/greeter"`)))
		if err != nil {
			t.Fatalf("README block for %s does not parse: %v", file, err)
		}
		got, err := os.ReadFile(filepath.Join("testdata/greeter", file))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("testdata/greeter/%s differs from its block in sdk/README.md; update both", file)
		}
	}
	if len(seen) != len(greeterFiles) {
		t.Fatalf("README walk-through blocks found for %v, want %d files", seen, len(greeterFiles))
	}
}

// TestReadmeTryhost runs step 4 and 5 of the walk-through: the greeter
// built into bin/plugins, and the host program finding, validating and
// reading it; its output is the README's, but for times and paths.
func TestReadmeTryhost(t *testing.T) {
	dir := t.TempDir()
	for _, b := range [][2]string{{"bin/plugins/greeter", "./testdata/greeter"}, {"tryhost", "./testdata/greeter/cmd/tryhost"}} {
		if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, b[0]), b[1]).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b[1], err, out)
		}
	}
	// Run by hand, the plugin explains itself and refuses.
	out, err := exec.Command(filepath.Join(dir, "bin/plugins/greeter")).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "greeter 0.1.0 is a Tributary connector plugin") {
		t.Fatalf("greeter run by hand: %v\n%s", err, out)
	}
	cmd := exec.Command(filepath.Join(dir, "tryhost"))
	cmd.Dir = dir
	out, err = cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tryhost: %v\n%s", err, out)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)\\$ go mod tidy && go run ./cmd/tryhost\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README has no tryhost output")
	}
	// Times and the plugin's path differ from run to run.
	norm := regexp.MustCompile(`(time|timestamp)=\S+|(path|binary)=\S+`)
	want := norm.ReplaceAllString(string(m[1]), "$1$2=…")
	got := norm.ReplaceAllString(string(out), "$1$2=…")
	if got != want {
		t.Fatalf("tryhost printed:\n%s\nREADME shows:\n%s", got, want)
	}
}

// TestReadmeGreeterTests runs the walk-through's own tests (step 3): the
// conformance suite and TestGreetings on the greeter, in-process.
func TestReadmeGreeterTests(t *testing.T) {
	cmd := exec.Command("go", "test", "-count=1", "-v", "./testdata/greeter/...")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go test of the walk-through's greeter: %v\n%s", err, out)
	}
	for _, want := range []string{"--- PASS: TestConformance/resume", "--- PASS: TestGreetings", "ok  \tgithub.com/tributary-io/tributary/sdk/sdktest/testdata/greeter/greeter"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("walk-through tests lack %q:\n%s", want, out)
		}
	}
}
