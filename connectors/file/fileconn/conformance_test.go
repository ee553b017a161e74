package fileconn

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/sdk/sdktest"
)

func TestConformance(t *testing.T) {
	target := sdktest.Local(Plugin())
	t.Run("source", func(t *testing.T) {
		sdktest.RunSourceSuite(t, target, sdktest.SourceSuite{
			Setup: func(t *testing.T) sdktest.SourceFixture {
				dir := t.TempDir()
				n := 0
				return sdktest.SourceFixture{
					Config: map[string]string{"paths": filepath.Join(dir, "*.log"), "poll.interval": "5ms"},
					Produce: func(t *testing.T, count int) {
						appendLines(t, filepath.Join(dir, "app.log"), numbered("line", n, n+count)...)
						n += count
					},
				}
			},
			Invalid: []sdktest.InvalidConfig{
				{Name: "bad patterns", Config: map[string]string{"paths": "[", "multiline.pattern": "(", "start": "middle"},
					Fields: []string{"paths", "multiline.pattern", "start"}},
				{Name: "empty pattern list", Config: map[string]string{"paths": " , "}, Fields: []string{"paths"}},
				{Name: "bounds", Config: map[string]string{"paths": "x", "fingerprint.bytes": "1", "poll.interval": "1h", "line.max.bytes": "1"},
					Fields: []string{"fingerprint.bytes", "poll.interval", "line.max.bytes"}},
			},
		})
	})
	t.Run("sink", func(t *testing.T) {
		sdktest.RunSinkSuite(t, target, sdktest.SinkSuite{
			Setup: func(t *testing.T) sdktest.SinkFixture {
				dir := filepath.Join(t.TempDir(), "out")
				return sdktest.SinkFixture{
					Config:  map[string]string{"dir": dir, "roll.bytes": "100"},
					Written: func(t *testing.T) [][]byte { return readSinkDir(t, dir) },
				}
			},
			Invalid: []sdktest.InvalidConfig{
				{Name: "bad names", Config: map[string]string{"dir": "d", "file.prefix": "../x", "format": "xml"}, Fields: []string{"file.prefix", "format"}},
			},
		})
	})
}

// readSinkDir returns the lines of every file in dir, files in name order.
func readSinkDir(t *testing.T, dir string) [][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	var out [][]byte
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.SplitAfter(string(b), "\n") {
			if strings.HasSuffix(l, "\n") {
				out = append(out, []byte(strings.TrimSuffix(l, "\n")))
			}
		}
	}
	return out
}
