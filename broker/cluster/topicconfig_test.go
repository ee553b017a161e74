package cluster

import (
	"errors"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/broker/log"
)

func TestValidateTopicName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"a", true},
		{"orders.v1_eu-west", true},
		{"__consumer_offsets", true},
		{"...", true},
		{strings.Repeat("x", 249), true},
		{strings.Repeat("x", 250), false},
		{"", false},
		{".", false},
		{"..", false},
		{"a b", false},
		{"a/b", false},
		{"é", false},
		{"a\x00", false},
	}
	for _, tt := range tests {
		err := ValidateTopicName(tt.name)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalidTopic)) {
			t.Errorf("ValidateTopicName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestValidateTopicConfigs(t *testing.T) {
	tests := []struct {
		name    string
		configs map[string]string
		wantErr []string // substrings of the error; nil means valid
	}{
		{"none", nil, nil},
		{"log configs", map[string]string{"retention.ms": "-1", "segment.bytes": "1048576", "cleanup.policy": "compact,delete"}, nil},
		{"other configs", map[string]string{"min.insync.replicas": "2", "unclean.leader.election.enable": "TRUE",
			"compression.type": "zstd", "message.timestamp.difference.max.ms": "1000", "preallocate": "false",
			"message.downconversion.enable": "true"}, nil},
		{"unknown", map[string]string{"retention.mss": "1"}, []string{`unknown topic config "retention.mss"`}},
		{"bad log value", map[string]string{"retention.ms": "soon"}, []string{"retention.ms", "not an integer"}},
		{"log value out of range", map[string]string{"segment.bytes": "1"}, []string{"segment.bytes", "at least 14"}},
		{"int overflow", map[string]string{"segment.bytes": "4294967296"}, []string{"segment.bytes", "32-bit"}},
		{"bad policy", map[string]string{"cleanup.policy": "forever"}, []string{"cleanup.policy"}},
		{"min isr zero", map[string]string{"min.insync.replicas": "0"}, []string{"min.insync.replicas", "at least 1"}},
		{"bad bool", map[string]string{"preallocate": "yes"}, []string{"preallocate", "true or false"}},
		{"bad compression", map[string]string{"compression.type": "brotli"}, []string{"compression.type", "one of"}},
		{"every problem at once", map[string]string{"x": "1", "preallocate": "1", "retention.ms": "x"},
			[]string{`"x"`, "preallocate", "retention.ms"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateTopicConfigs(tt.configs)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("err = %v, want ErrInvalidConfig", err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestTopicConfigKeys(t *testing.T) {
	keys := TopicConfigKeys()
	seen := map[string]bool{}
	for i, k := range keys {
		if i > 0 && keys[i-1].Name >= k.Name {
			t.Errorf("keys not sorted: %s before %s", keys[i-1].Name, k.Name)
		}
		if k.Doc == "" || k.BrokerName == "" || k.Type == 0 {
			t.Errorf("key %s lacks doc, broker name or type: %+v", k.Name, k)
		}
		// Every default must itself be a valid value.
		if err := ValidateTopicConfigs(map[string]string{k.Name: k.Default}); err != nil {
			t.Errorf("default of %s is invalid: %v", k.Name, err)
		}
		seen[k.Name] = true
	}
	for _, lk := range log.ConfigKeys {
		if k, ok := LookupTopicConfigKey(lk.Name); !ok || !k.IsLog() {
			t.Errorf("log key %s missing or not marked as a log key", lk.Name)
		}
	}
	for _, n := range []string{"min.insync.replicas", "unclean.leader.election.enable", "compression.type",
		"message.timestamp.difference.max.ms", "preallocate", "message.downconversion.enable"} {
		if !seen[n] {
			t.Errorf("key %s missing", n)
		}
	}
}

func TestTopicConfigValue(t *testing.T) {
	defaults := log.DefaultConfig()
	defaults.SegmentBytes = 1 << 20
	overrides := map[string]string{"retention.ms": "5", "min.insync.replicas": "2"}
	tests := []struct {
		key    string
		value  string
		source ConfigSource
	}{
		{"retention.ms", "5", SourceTopic},
		{"min.insync.replicas", "2", SourceTopic},
		{"segment.bytes", "1048576", SourceBroker},
		{"cleanup.policy", "delete", SourceDefault},
		{"preallocate", "false", SourceDefault},
	}
	for _, tt := range tests {
		k, ok := LookupTopicConfigKey(tt.key)
		if !ok {
			t.Fatalf("no key %s", tt.key)
		}
		if v, src := k.Value(defaults, overrides); v != tt.value || src != tt.source {
			t.Errorf("%s = %q from %d, want %q from %d", tt.key, v, src, tt.value, tt.source)
		}
	}
}

func TestTopicLogConfig(t *testing.T) {
	defaults := log.DefaultConfig()
	defaults.RetentionBytes = 1000
	tp := &Topic{Name: "t", Configs: map[string]string{"segment.bytes": "2048", "min.insync.replicas": "2"}}
	cfg, err := tp.LogConfig(defaults)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SegmentBytes != 2048 || cfg.RetentionBytes != 1000 {
		t.Fatalf("config %+v: want segment.bytes 2048 from the topic and retention.bytes 1000 from the broker", cfg)
	}
	tp.Configs["segment.bytes"] = "x"
	if _, err := tp.LogConfig(defaults); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("bad override: err = %v, want ErrInvalidConfig", err)
	}
}

func TestUUIDText(t *testing.T) {
	u := uuidOf(7)
	s := u.String()
	if len(s) != 22 {
		t.Fatalf("%q: want 22 characters", s)
	}
	back, err := ParseUUID(s)
	if err != nil || back != u {
		t.Fatalf("ParseUUID(%q) = %v, %v", s, back, err)
	}
	for _, bad := range []string{"", "short", strings.Repeat("!", 22), strings.Repeat("A", 23)} {
		if _, err := ParseUUID(bad); err == nil {
			t.Errorf("ParseUUID(%q) accepted", bad)
		}
	}
}

// scriptedReader returns its chunks one per Read.
type scriptedReader struct{ chunks [][]byte }

func (r *scriptedReader) Read(p []byte) (int, error) {
	if len(r.chunks) == 0 {
		return 0, errors.New("exhausted")
	}
	n := copy(p, r.chunks[0])
	r.chunks = r.chunks[1:]
	return n, nil
}

func TestNewTopicIDSkipsReserved(t *testing.T) {
	dash := make([]byte, 16)
	dash[0] = 0xf8 // base64 of 0b111110... begins with '-'
	good := []byte("0123456789abcdef")
	id, err := newTopicID(&scriptedReader{chunks: [][]byte{dash, good}})
	if err != nil {
		t.Fatal(err)
	}
	if id.String()[0] == '-' || id[0] != '0' || id[6]>>4 != 4 {
		t.Fatalf("id %s: want the second draw", id)
	}
	if _, err := newTopicID(&scriptedReader{}); err == nil {
		t.Fatal("a failing random source gave an id")
	}
}
