package platform

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/broker/log"
)

func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tributary.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func parsedFlags(t *testing.T, args ...string) *flag.FlagSet {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return fs
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(Sources{})
	if err != nil {
		t.Fatal(err)
	}
	delay := 3 * time.Second
	want := Config{
		NodeID: 1, DataDir: "./data", Listeners: []string{"localhost:9092"}, HTTPAddr: ":8080",
		LogLevel: "info", LogFormat: "text", AutoCreateTopics: c.AutoCreateTopics,
		NumPartitions: 1, DefaultReplicationFactor: 1, ShutdownTimeout: 30 * time.Second,
		Groups: GroupsConfig{InitialRebalanceDelay: &delay, MinSessionTimeout: 6 * time.Second,
			MaxSessionTimeout: 30 * time.Minute, OffsetsRetention: 7 * 24 * time.Hour},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("defaults:\n got %+v\nwant %+v", c, want)
	}
	if c.AutoCreateTopics == nil || !*c.AutoCreateTopics {
		t.Fatalf("auto_create_topics default = %v, want true", c.AutoCreateTopics)
	}
}

func TestLoadYAML(t *testing.T) {
	p := writeFile(t, `
node_id: 3
data_dir: /var/lib/tributary
listeners: ["PLAINTEXT://0.0.0.0:9092"]
advertised_listeners: [broker3.example:9092]
http_addr: 127.0.0.1:8081
log_level: debug
log_format: json
auto_create_topics: false
num_partitions: 6
shutdown_timeout: 5s
topic_defaults:
  retention.ms: 3600000
  cleanup.policy: compact,delete
  min.cleanable.dirty.ratio: 0.25
`)
	c, err := Load(Sources{File: p})
	if err != nil {
		t.Fatal(err)
	}
	if c.NodeID != 3 || c.DataDir != "/var/lib/tributary" || c.HTTPAddr != "127.0.0.1:8081" ||
		c.LogLevel != "debug" || c.LogFormat != "json" || *c.AutoCreateTopics || c.NumPartitions != 6 ||
		c.ShutdownTimeout != 5*time.Second {
		t.Fatalf("scalars wrong: %+v", c)
	}
	if !slices.Equal(c.Listeners, []string{"PLAINTEXT://0.0.0.0:9092"}) ||
		!slices.Equal(c.AdvertisedListeners, []string{"broker3.example:9092"}) {
		t.Fatalf("listeners wrong: %v %v", c.Listeners, c.AdvertisedListeners)
	}
	bc, err := c.BrokerConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if bc.LogDefaults.RetentionMs != 3600000 || bc.LogDefaults.CleanupPolicy != "compact,delete" ||
		bc.LogDefaults.MinCleanableDirtyRatio != 0.25 {
		t.Fatalf("topic defaults not applied: %+v", bc.LogDefaults)
	}
	// Keys not overridden keep Kafka's defaults.
	if bc.LogDefaults.SegmentBytes != log.DefaultConfig().SegmentBytes {
		t.Fatalf("segment.bytes = %d, want the default", bc.LogDefaults.SegmentBytes)
	}
	if bc.NodeID != 3 || *bc.AutoCreateTopics || bc.NumPartitions != 6 || bc.DataDir != c.DataDir {
		t.Fatalf("broker config wrong: %+v", bc)
	}
}

func TestLoadYAMLErrorsHavePositions(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // substrings, all must appear
	}{
		{"unknown key", "node_id: 1\nretention: 5\n", []string{":2:1: unknown key \"retention\""}},
		{"misspelt key suggests", "data-dir: /x\n", []string{":1:1: unknown key \"data-dir\" (did you mean \"data_dir\"?)"}},
		{"wrong type", "node_id: one\n", []string{":1:10: node_id: cannot unmarshal !!str `one` into int32"}},
		{"unknown topic config", "topic_defaults:\n  retention.mss: 1\n", []string{":2:3: topic_defaults: unknown topic config \"retention.mss\""}},
		{"repeated key", "node_id: 1\nnode_id: 2\n", []string{":2:1: key \"node_id\" repeats the one at 1:1"}},
		{"not a mapping", "- a\n- b\n", []string{":1:1: want a mapping"}},
		{"several at once", "bogus: 1\nnode_id: x\nother: 2\n", []string{":1:1: unknown key \"bogus\"", ":2:10: node_id:", ":3:1: unknown key \"other\""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, tc.yaml)
			_, err := Load(Sources{File: p})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), p+w) && !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestLoadPrecedence(t *testing.T) {
	p := writeFile(t, `
node_id: 2
data_dir: /from/file
log_level: warn
http_addr: :9000
topic_defaults:
  retention.ms: 1000
  segment.bytes: 2000
  flush.ms: 3000
`)
	env := envMap(map[string]string{
		"TRIBUTARY_NODE_ID":        "5",
		"TRIBUTARY_DATA_DIR":       "/from/env",
		"TRIBUTARY_LISTENERS":      "127.0.0.1:19092, 127.0.0.1:19093",
		"TRIBUTARY_TOPIC_DEFAULTS": "segment.bytes=2222,cleanup.policy=compact,delete",
	})
	fs := parsedFlags(t, "--config", p, "--data-dir", "/from/flag", "--auto-create-topics=false",
		"--topic-default", "flush.ms=3333", "--topic-default", "retention.ms=1111")
	c, err := Load(Sources{Env: env, Flags: fs})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		what      string
		got, want any
	}{
		{"node_id from env over file", c.NodeID, int32(5)},
		{"data_dir from flag over env and file", c.DataDir, "/from/flag"},
		{"log_level from file", c.LogLevel, "warn"},
		{"http_addr from file", c.HTTPAddr, ":9000"},
		{"listeners from env, comma-separated", strings.Join(c.Listeners, "|"), "127.0.0.1:19092|127.0.0.1:19093"},
		{"auto_create_topics from flag", *c.AutoCreateTopics, false},
		{"retention.ms from flag", c.TopicDefaults["retention.ms"], "1111"},
		{"segment.bytes from env", c.TopicDefaults["segment.bytes"], "2222"},
		{"flush.ms from flag", c.TopicDefaults["flush.ms"], "3333"},
		{"cleanup.policy keeps its comma", c.TopicDefaults["cleanup.policy"], "compact,delete"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.what, tc.got, tc.want)
		}
	}
}

func TestLoadConfigFileFromEnv(t *testing.T) {
	p := writeFile(t, "node_id: 9\n")
	c, err := Load(Sources{Env: envMap(map[string]string{ConfigFileEnv: p})})
	if err != nil {
		t.Fatal(err)
	}
	if c.NodeID != 9 {
		t.Fatalf("node_id = %d, want 9 from the file named by %s", c.NodeID, ConfigFileEnv)
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	no := false
	c := Config{
		NodeID:                   -1,
		Listeners:                []string{"localhost", "127.0.0.1:99999"},
		AdvertisedListeners:      []string{"a:1"},
		HTTPAddr:                 "nope",
		LogLevel:                 "loud",
		LogFormat:                "xml",
		AutoCreateTopics:         &no,
		NumPartitions:            -2,
		DefaultReplicationFactor: -1,
		ShutdownTimeout:          -time.Second,
		TopicDefaults:            map[string]string{"retention.ms": "soon", "no.such.key": "1"},
	}
	c.EnsureDefaults()
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	want := []string{
		"node_id=-1",
		`listeners: "localhost"`,
		`listeners: "127.0.0.1:99999"`,
		"advertised_listeners: 1 given for 2 listeners",
		`http_addr: "nope"`,
		`log_level: "loud"`,
		`log_format: "xml"`,
		"num_partitions=-2",
		"default_replication_factor=-1",
		"shutdown_timeout=-1s",
		`retention.ms="soon"`,
		"no.such.key",
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
}

func TestLoadReportsEnvFlagAndValidationErrorsTogether(t *testing.T) {
	env := envMap(map[string]string{"TRIBUTARY_NODE_ID": "abc", "TRIBUTARY_LOG_FORMAT": "xml"})
	fs := parsedFlags(t, "--num-partitions", "many", "--topic-default", "noequals")
	_, err := Load(Sources{Env: env, Flags: fs})
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{
		"environment TRIBUTARY_NODE_ID: node_id \"abc\"",
		"flag --num-partitions: num_partitions \"many\"",
		"flag --topic-default: topic default \"noequals\"",
		`log_format: "xml"`,
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
}

// The settings table (env and flags) and the YAML tags must name the same keys.
func TestSettingsMatchYAMLTags(t *testing.T) {
	var keys []string
	for _, s := range settings() {
		keys = append(keys, s.key)
	}
	tags := yamlKeys()
	slices.Sort(keys)
	slices.Sort(tags)
	if !slices.Equal(keys, tags) {
		t.Fatalf("settings %v\nyaml tags %v", keys, tags)
	}
}

func TestNewLoggerFormat(t *testing.T) {
	tests := []struct {
		format, level string
		wantPrefix    string
		debugShown    bool
	}{
		{"text", "info", "time=", false},
		{"json", "debug", "{", true},
	}
	for _, tc := range tests {
		var b strings.Builder
		l := Config{LogFormat: tc.format, LogLevel: tc.level}.NewLogger(&b)
		l.Debug("dbg")
		l.Info("hello", "k", 1)
		out := b.String()
		if !strings.HasPrefix(out, tc.wantPrefix) || !strings.Contains(out, "hello") {
			t.Errorf("%s: output %q", tc.format, out)
		}
		if strings.Contains(out, "dbg") != tc.debugShown {
			t.Errorf("%s/%s: debug shown = %v", tc.format, tc.level, !tc.debugShown)
		}
	}
}
