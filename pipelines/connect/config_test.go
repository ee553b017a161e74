package connect

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"github.com/tributary-io/tributary/sdk"
)

func TestParseProblems(t *testing.T) {
	tests := []struct {
		name string
		raw  map[string]string
		want []string // fields with problems, sorted
	}{
		{"valid source", map[string]string{"plugin": "file", "type": "source", "topic": "t", "paths": "/x"}, nil},
		{"valid sink", map[string]string{"plugin": "file", "type": "sink", "topics": "a, b", "tasks.max": "4"}, nil},
		{"missing everything", map[string]string{}, []string{"plugin", "type"}},
		{"source without topic", map[string]string{"plugin": "p", "type": "source"}, []string{"topic"}},
		{"sink with topic", map[string]string{"plugin": "p", "type": "sink", "topic": "t"}, []string{"topic", "topics"}},
		{"source with tasks", map[string]string{"plugin": "p", "type": "source", "topic": "t", "tasks.max": "2"}, []string{"tasks.max"}},
		{"bad values", map[string]string{"plugin": "p", "type": "sink", "topics": "a b", "tasks.max": "x",
			"errors.tolerance": "most", "errors.retry.timeout": "-1s", "batch.max.records": "0"},
			[]string{"batch.max.records", "errors.retry.timeout", "errors.tolerance", "tasks.max", "topics"}},
		{"dead letter needs tolerance all", map[string]string{"plugin": "p", "type": "sink", "topics": "a",
			"errors.deadletterqueue.topic.name": "dlq"}, []string{"errors.deadletterqueue.topic.name"}},
		{"dead letter is an input", map[string]string{"plugin": "p", "type": "sink", "topics": "a",
			"errors.tolerance": "all", "errors.deadletterqueue.topic.name": "a"}, []string{"errors.deadletterqueue.topic.name"}},
		{"unknown type", map[string]string{"plugin": "p", "type": "both"}, []string{"type"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, probs := Parse("c", tt.raw)
			var got []string
			for _, p := range probs {
				if p.Reason == "" {
					t.Errorf("problem of %s has no reason", p.Field)
				}
				got = append(got, p.Field)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("problems on %v, want %v (%v)", got, tt.want, probs)
			}
		})
	}
}

func TestParseSplitsPluginConfig(t *testing.T) {
	c, probs := Parse("c", map[string]string{"plugin": "file", "type": "sink", "topics": "a", "dir": "/d", "errors.tolerance": "all"})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if len(c.PluginConfig) != 1 || c.PluginConfig["dir"] != "/d" {
		t.Fatalf("plugin config %v, want only dir", c.PluginConfig)
	}
	if c.Kind != sdk.KindSink || c.Tolerance != ToleranceAll || c.Tasks != 1 {
		t.Fatalf("parsed %+v", c)
	}
}

// TestRawRoundTrips: Raw gives back every setting, so parsing it again
// yields the same configuration.
func TestRawRoundTrips(t *testing.T) {
	for _, raw := range []map[string]string{
		{"plugin": "file", "type": "source", "topic": "t", "paths": "/x/*.log"},
		{"plugin": "file", "type": "sink", "topics": "a,b", "tasks.max": "3", "dir": "/d", "errors.tolerance": "all",
			"errors.deadletterqueue.topic.name": "dlq", "errors.retry.timeout": "5s", "errors.retry.delay.max": "1s", "batch.max.records": "77"},
	} {
		c, probs := Parse("c", raw)
		if len(probs) > 0 {
			t.Fatal(probs)
		}
		again, probs := Parse("c", c.Raw())
		if len(probs) > 0 || !reflect.DeepEqual(again, c) {
			t.Fatalf("Parse(Raw()) = %+v (%v), want %+v", again, probs, c)
		}
	}
}

// TestValidateListsRuntimeAndPluginProblems: one call reports the runtime
// keys' problems and the plugin's together.
func TestValidateListsRuntimeAndPluginProblems(t *testing.T) {
	plugin := &sdk.Plugin{Name: "demo", Version: "1.0.0", Sink: &sdk.SinkDef{
		Spec: sdk.ConfigSpec{Fields: []sdk.Field{{Name: "dir", Type: sdk.String, Required: true, Description: "d"}}},
		New:  func(sdk.Env) sdk.Sink { return nil },
	}}
	host := InProcess{Plugins: []*sdk.Plugin{plugin}}
	_, probs, err := Validate(context.Background(), host, "c", map[string]string{
		"plugin": "demo", "type": "sink", "topics": "a", "tasks.max": "0", "extra": "1"})
	if err != nil {
		t.Fatal(err)
	}
	var fields []string
	for _, p := range probs {
		fields = append(fields, p.Field)
	}
	if want := []string{"dir", "extra", "tasks.max"}; !slices.Equal(fields, want) {
		t.Fatalf("problems on %v, want %v", fields, want)
	}
	_, probs, _ = Validate(context.Background(), host, "c", map[string]string{"plugin": "nope", "type": "sink", "topics": "a"})
	if len(probs) != 1 || probs[0].Field != "plugin" {
		t.Fatalf("unknown plugin: %v", probs)
	}
}

// TestRuntimeKeysAreReservedInSDK: every key the runtime keeps from the
// plugin is one the SDK refuses as a plugin field, so no plugin declares a
// field it could never receive.
func TestRuntimeKeysAreReservedInSDK(t *testing.T) {
	for _, k := range append([]string{"name"}, runtimeKeys...) {
		if !sdk.ReservedField(k) {
			t.Errorf("runtime key %q is not sdk.ReservedField", k)
		}
	}
}
