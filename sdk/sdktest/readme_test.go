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
			continue // the host program of step 5 imports plugins, which sdk may not
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
