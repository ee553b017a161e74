package platform

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/tributary-io/tributary"

// layeringRules are DESIGN.md's import rules: a package matching from may not
// depend (directly or transitively) on a package matching any of forbidden.
// A prefix ending in "/" matches the folder and everything below it.
var layeringRules = []struct {
	from      string
	forbidden []string
	allowed   []string // exceptions to forbidden
}{
	{from: "broker", forbidden: []string{"platform", "pipelines", "streams", "plugins", "connectors", "sdk", "cmd"}},
	{from: "broker/record", forbidden: []string{""}, allowed: []string{"broker/record"}},
	{from: "broker/log", forbidden: []string{""}, allowed: []string{"broker/log", "broker/record"}},
	{from: "pipelines", forbidden: []string{"broker", "platform", "cmd", "connectors"}},
	{from: "streams", forbidden: []string{"broker", "platform", "cmd", "pipelines", "plugins", "connectors"}},
	{from: "plugins", forbidden: []string{"broker", "platform", "cmd", "pipelines", "streams", "connectors"}},
	{from: "sdk", forbidden: []string{""}, allowed: []string{"sdk", "plugins/pluginpb"}},
	{from: "connectors", forbidden: []string{""}, allowed: []string{"connectors", "sdk", "plugins/pluginpb"}},
	// nodetest runs the binary instead of linking the server, so tests at
	// every layer may import it (test imports are not checked here); it
	// must stay that way, and only tests may import it.
	{from: "platform/nodetest", forbidden: []string{""}, allowed: []string{"platform/nodetest"}},
	{from: "", forbidden: []string{"platform/nodetest"}},
	// authtest makes test certificates for tests of every layer; the same rules.
	{from: "broker/auth/authtest", forbidden: []string{""}, allowed: []string{"broker/auth/authtest"}},
	{from: "", forbidden: []string{"broker/auth/authtest"}},
}

// under reports whether rel (a path inside the module) is the folder p or below it.
// The empty p matches every package of the module.
func under(rel, p string) bool {
	return p == "" || rel == p || strings.HasPrefix(rel, p+"/")
}

// TestLayering keeps the import direction of DESIGN.md from drifting.
func TestLayering(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps=false", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, module+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkg := strings.TrimPrefix(strings.TrimPrefix(fields[0], module), "/")
		for _, rule := range layeringRules {
			if !under(pkg, rule.from) {
				continue
			}
			checked++
			for _, dep := range fields[1:] {
				if !strings.HasPrefix(dep, module+"/") {
					continue
				}
				d := strings.TrimPrefix(dep, module+"/")
				if violates(d, rule.forbidden, rule.allowed) {
					t.Errorf("%s depends on %s, which DESIGN.md's layering forbids", pkg, d)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no package was checked: the go list output was not understood")
	}
}

func violates(dep string, forbidden, allowed []string) bool {
	for _, a := range allowed {
		if under(dep, a) {
			return false
		}
	}
	for _, f := range forbidden {
		if under(dep, f) {
			return true
		}
	}
	return false
}

func TestLayeringRulesMatch(t *testing.T) {
	cases := []struct {
		dep       string
		forbidden []string
		allowed   []string
		want      bool
	}{
		{"platform", []string{"platform"}, nil, true},
		{"platformx", []string{"platform"}, nil, false},
		{"broker/log", []string{""}, []string{"broker/log", "broker/record"}, false},
		{"broker/kafka", []string{""}, []string{"broker/log", "broker/record"}, true},
		{"plugins/pluginpb", []string{""}, []string{"sdk", "plugins/pluginpb"}, false},
		{"plugins", []string{""}, []string{"sdk", "plugins/pluginpb"}, true},
	}
	for _, c := range cases {
		if got := violates(c.dep, c.forbidden, c.allowed); got != c.want {
			t.Errorf("violates(%q, %v, %v) = %v, want %v", c.dep, c.forbidden, c.allowed, got, c.want)
		}
	}
}
