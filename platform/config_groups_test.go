package platform

import (
	"strings"
	"testing"
	"time"
)

func TestGroupsConfigSources(t *testing.T) {
	file := writeFile(t, `
groups:
  initial_rebalance_delay: 0s
  min_session_timeout: 2s
  max_session_timeout: 10m
  offsets_retention: 48h
`)
	dur := func(d time.Duration) *time.Duration { return &d }
	tests := []struct {
		name string
		src  Sources
		want GroupsConfig
	}{
		{"defaults", Sources{}, GroupsConfig{InitialRebalanceDelay: dur(3 * time.Second),
			MinSessionTimeout: 6 * time.Second, MaxSessionTimeout: 30 * time.Minute, OffsetsRetention: 168 * time.Hour}},
		{"yaml", Sources{File: file}, GroupsConfig{InitialRebalanceDelay: dur(0),
			MinSessionTimeout: 2 * time.Second, MaxSessionTimeout: 10 * time.Minute, OffsetsRetention: 48 * time.Hour}},
		{"env over yaml", Sources{File: file, Env: envMap(map[string]string{
			"TRIBUTARY_GROUPS_INITIAL_REBALANCE_DELAY": "500ms",
			"TRIBUTARY_GROUPS_OFFSETS_RETENTION":       "24h",
		})}, GroupsConfig{InitialRebalanceDelay: dur(500 * time.Millisecond),
			MinSessionTimeout: 2 * time.Second, MaxSessionTimeout: 10 * time.Minute, OffsetsRetention: 24 * time.Hour}},
		{"flags over env", Sources{
			Env: envMap(map[string]string{"TRIBUTARY_GROUPS_MIN_SESSION_TIMEOUT": "1s"}),
			Flags: parsedFlags(t, "--groups-min-session-timeout=3s", "--groups-max-session-timeout=1h",
				"--groups-initial-rebalance-delay=1s"),
		}, GroupsConfig{InitialRebalanceDelay: dur(time.Second),
			MinSessionTimeout: 3 * time.Second, MaxSessionTimeout: time.Hour, OffsetsRetention: 168 * time.Hour}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(tc.src)
			if err != nil {
				t.Fatal(err)
			}
			g := c.Groups
			if *g.InitialRebalanceDelay != *tc.want.InitialRebalanceDelay || g.MinSessionTimeout != tc.want.MinSessionTimeout ||
				g.MaxSessionTimeout != tc.want.MaxSessionTimeout || g.OffsetsRetention != tc.want.OffsetsRetention {
				t.Fatalf("groups = {delay %v min %v max %v retention %v}, want {delay %v min %v max %v retention %v}",
					*g.InitialRebalanceDelay, g.MinSessionTimeout, g.MaxSessionTimeout, g.OffsetsRetention,
					*tc.want.InitialRebalanceDelay, tc.want.MinSessionTimeout, tc.want.MaxSessionTimeout, tc.want.OffsetsRetention)
			}
		})
	}
}

func TestGroupsConfigMapsToBroker(t *testing.T) {
	tests := []struct {
		name      string
		delay     string
		wantDelay time.Duration
	}{
		// group.Config reads a zero delay as "use the default", so "none" must
		// reach it as a negative one.
		{"no delay", "0s", -1},
		{"some delay", "250ms", 250 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(Sources{Env: envMap(map[string]string{
				"TRIBUTARY_GROUPS_INITIAL_REBALANCE_DELAY": tc.delay,
				"TRIBUTARY_GROUPS_MAX_SESSION_TIMEOUT":     "90s",
			})})
			if err != nil {
				t.Fatal(err)
			}
			bc, err := c.BrokerConfig(nil)
			if err != nil {
				t.Fatal(err)
			}
			g := bc.Groups
			if g.InitialRebalanceDelay != tc.wantDelay || g.MaxSessionTimeout != 90*time.Second ||
				g.MinSessionTimeout != 6*time.Second || g.OffsetsRetention != 168*time.Hour {
				t.Fatalf("broker groups config %+v", g)
			}
			g.EnsureDefaults()
			if err := g.Validate(); err != nil {
				t.Fatalf("the group coordinator rejects the mapped config: %v", err)
			}
		})
	}
}

func TestGroupsConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want []string
	}{
		{name: "unknown key in the section", yaml: "groups:\n  session_timeout: 5s\n",
			want: []string{":2:3: groups: unknown key \"session_timeout\""}},
		{name: "misspelt key suggests", yaml: "groups:\n  offsets-retention: 5h\n",
			want: []string{"did you mean \"offsets_retention\"?"}},
		{name: "not a duration", yaml: "groups:\n  min_session_timeout: soon\n",
			want: []string{":2:24: groups.min_session_timeout: cannot unmarshal"}},
		{name: "section not a mapping", yaml: "groups: 5\n", want: []string{":1:9: groups: want a mapping"}},
		{name: "min above max, short retention, negative delay", yaml: "groups:\n  min_session_timeout: 1h\n  max_session_timeout: 1m\n  offsets_retention: 30s\n  initial_rebalance_delay: -1s\n",
			want: []string{"groups.max_session_timeout=1m0s: below groups.min_session_timeout=1h0m0s",
				"groups.offsets_retention=30s: must be at least 1m", "groups.initial_rebalance_delay=-1s: must not be negative"}},
		{name: "bad env value", env: map[string]string{"TRIBUTARY_GROUPS_OFFSETS_RETENTION": "a week"},
			want: []string{"environment TRIBUTARY_GROUPS_OFFSETS_RETENTION: groups.offsets_retention \"a week\": not a duration"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := Sources{Env: envMap(tc.env)}
			if tc.yaml != "" {
				src.File = writeFile(t, tc.yaml)
			}
			_, err := Load(src)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
		})
	}
}
