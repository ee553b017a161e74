package fileconn

import (
	"os"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/sdk"
)

// TestReadmeDocumentsTheSpec: the configuration tables of
// connectors/file/README.md are the config spec rendered by
// sdk.ConfigSpec.Markdown, so the docs and the validation cannot drift.
func TestReadmeDocumentsTheSpec(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	p := Plugin()
	for _, c := range []struct {
		heading string
		kind    sdk.Kind
	}{{"### Source\n\n", sdk.KindSource}, {"### Sink\n\n", sdk.KindSink}} {
		spec, _ := p.Spec(c.kind)
		if want := c.heading + spec.Markdown(); !strings.Contains(string(readme), want) {
			t.Errorf("connectors/file/README.md lacks the %s table as the spec renders it; replace it with:\n%s", c.kind, want)
		}
	}
}
