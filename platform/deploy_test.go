package platform

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tributary-io/tributary/plugins/pluginmetrics"
)

// deployDir holds the operator assets: dashboard, alert rules, systemd unit.
const deployDir = "../deploy"

// seriesName finds the series a PromQL expression reads. Only our own and the
// Go client's runtime families are matched; PromQL functions, label names
// and Grafana variables ($__rate_interval) are not.
var seriesName = regexp.MustCompile(`\b(?:tributary|go|process)_[a-zA-Z0-9_]+`)

// alertRules is the part of a Prometheus rule file the checks read.
type alertRules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert string `yaml:"alert"`
			Expr  string `yaml:"expr"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func readRules(t *testing.T) alertRules {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(deployDir, "prometheus", "tributary-alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var r alertRules
	if err := yaml.Unmarshal(data, &r); err != nil {
		t.Fatalf("alert rules: %v", err)
	}
	return r
}

// dashboardQueries returns every query of the Grafana dashboard: panel
// targets and template variables.
func dashboardQueries(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(deployDir, "grafana", "tributary-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && (k == "expr" || k == "query" || k == "definition") {
					out = append(out, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
	return out
}

// usedSeries maps each series name the assets use to where it is used.
func usedSeries(t *testing.T) map[string]string {
	t.Helper()
	used := map[string]string{}
	for _, q := range dashboardQueries(t) {
		for _, name := range seriesName.FindAllString(q, -1) {
			used[name] = "dashboard: " + q
		}
	}
	for _, g := range readRules(t).Groups {
		for _, r := range g.Rules {
			for _, name := range seriesName.FindAllString(r.Expr, -1) {
				used[name] = "alert " + r.Alert
			}
		}
	}
	return used
}

// checkDeployAssets fails for every series the dashboard or the alert rules
// use that a running node does not expose (in f) and that
// pluginmetrics.Names does not declare for a runtime not built yet.
func checkDeployAssets(t *testing.T, f families) {
	used := usedSeries(t)
	if len(used) < 25 {
		t.Fatalf("only %d series found in deploy/: is the extraction broken? %v", len(used), used)
	}
	exposed := exposedNames(f)
	declared := map[string]bool{}
	for _, name := range pluginmetrics.Names() {
		declared[name] = true
	}
	for _, name := range sortedKeys(keysOf(used)) {
		if !exposed[name] && !declared[name] {
			t.Errorf("%s (used by %s) is neither exposed by a node's /metrics nor declared in pluginmetrics.Names", name, used[name])
		}
	}
	// Every declared name is for the assets: none may be unused (the list
	// stays explicit and small).
	for name := range declared {
		if _, ok := used[name]; !ok {
			t.Errorf("pluginmetrics declares %s but no alert or panel uses it", name)
		}
	}
	// The reference in deploy/README.md lists every tributary_ family a node
	// exposes and every declared one.
	readme, err := os.ReadFile(filepath.Join(deployDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for name := range f {
		if strings.HasPrefix(name, "tributary_") && !strings.Contains(string(readme), "`"+name+"`") {
			t.Errorf("deploy/README.md does not document %s", name)
		}
	}
	for name := range declared {
		if !strings.Contains(string(readme), "`"+name+"`") {
			t.Errorf("deploy/README.md does not document %s", name)
		}
	}
}

func keysOf(m map[string]string) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// TestDeployAlertRules checks the alerts the issue asks for exist and every
// rule has an expression.
func TestDeployAlertRules(t *testing.T) {
	r := readRules(t)
	var alerts []string
	for _, g := range r.Groups {
		for _, rule := range g.Rules {
			if strings.TrimSpace(rule.Expr) == "" {
				t.Errorf("alert %q has no expression", rule.Alert)
			}
			alerts = append(alerts, rule.Alert)
		}
	}
	for _, want := range []string{"TributaryOfflinePartitions", "TributaryUnderMinISRPartitions",
		"TributaryConsumerLagGrowing", "TributaryConnectorFailed", "TributaryPluginRestartLoop"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("alert %s is missing from deploy/prometheus", want)
		}
	}
}

// TestDeployDashboardPanels checks the dashboard's panels have unique ids and
// a query each.
func TestDeployDashboardPanels(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(deployDir, "grafana", "tributary-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID    string `json:"uid"`
		Panels []struct {
			ID      int    `json:"id"`
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	if d.UID == "" || len(d.Panels) < 10 {
		t.Fatalf("dashboard uid %q with %d panels", d.UID, len(d.Panels))
	}
	seen := map[int]string{}
	for _, p := range d.Panels {
		if prev, dup := seen[p.ID]; dup {
			t.Errorf("panels %q and %q share id %d", prev, p.Title, p.ID)
		}
		seen[p.ID] = p.Title
		if p.Type != "row" && (len(p.Targets) == 0 || p.Targets[0].Expr == "") {
			t.Errorf("panel %q has no query", p.Title)
		}
	}
}

// TestDeployExampleConfigLoads keeps the systemd example config valid.
func TestDeployExampleConfigLoads(t *testing.T) {
	c, err := Load(Sources{File: filepath.Join(deployDir, "systemd", "tributary.yaml")})
	if err != nil {
		t.Fatalf("deploy/systemd/tributary.yaml: %v", err)
	}
	if c.DataDir != "/var/lib/tributary" {
		t.Fatalf("data_dir = %q, want the unit's StateDirectory /var/lib/tributary", c.DataDir)
	}
	unit, err := os.ReadFile(filepath.Join(deployDir, "systemd", "tributary.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ExecStart=/usr/local/bin/tributary serve --config /etc/tributary/tributary.yaml",
		"StateDirectory=tributary", "KillSignal=SIGTERM"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("tributary.service lacks %q", want)
		}
	}
}
