package sdk

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func testSpec() ConfigSpec {
	return ConfigSpec{Fields: []Field{
		{Name: "path", Type: String, Required: true, Description: "where"},
		{Name: "mode", Type: String, Default: "fast", Enum: []string{"fast", "safe"}, Description: "how"},
		{Name: "count", Type: Int, Default: "10", Min: Limit(1), Max: Limit(100), Description: "how many"},
		{Name: "follow", Type: Bool, Default: "true", Description: "keep going"},
		{Name: "poll.interval", Type: Duration, Default: "250ms", Min: Limit(int64(time.Millisecond)), Description: "how often"},
		{Name: "tags", Type: List, Enum: []string{"a", "b", "c"}, Description: "labels"},
		{Name: "max.size", Type: Bytes, Default: "1MiB", Max: Limit(1 << 30), Description: "how big"},
		{Name: "password", Type: String, Secret: true, Description: "a secret", Check: func(v any) error {
			if len(v.(string)) > 0 && len(v.(string)) < 8 {
				return errors.New("shorter than 8 characters")
			}
			return nil
		}},
	}}
}

func TestParseValues(t *testing.T) {
	cfg, err := testSpec().Parse(map[string]string{"path": "/x", "count": " 42 ", "tags": "a, c,,", "max.size": "64KiB"})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"path", cfg.String("path"), "/x"},
		{"mode default", cfg.String("mode"), "fast"},
		{"count", cfg.Int("count"), int64(42)},
		{"follow default", cfg.Bool("follow"), true},
		{"poll.interval default", cfg.Duration("poll.interval"), 250 * time.Millisecond},
		{"tags", cfg.List("tags"), []string{"a", "c"}},
		{"max.size", cfg.Bytes("max.size"), int64(64 << 10)},
		{"password zero", cfg.String("password"), ""},
		{"IsSet given", cfg.IsSet("count"), true},
		{"IsSet defaulted", cfg.IsSet("mode"), false},
		{"Raw", cfg.Raw()["count"], " 42 "},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

func TestParseProblems(t *testing.T) {
	cases := []struct {
		name string
		raw  map[string]string
		want []Problem
	}{
		{"missing required", map[string]string{}, []Problem{{Field: "path", Reason: "required field is missing"}}},
		{"blank int is unset", map[string]string{"path": "p", "count": " "}, nil},
		{"unknown with suggestion", map[string]string{"path": "p", "poll_interval": "1s"},
			[]Problem{{Field: "poll_interval", Value: "1s", Reason: `unknown field (did you mean "poll.interval"?)`}}},
		{"unknown", map[string]string{"path": "p", "zzz": "1"}, []Problem{{Field: "zzz", Value: "1", Reason: "unknown field"}}},
		{"enum", map[string]string{"path": "p", "mode": "slow"}, []Problem{{Field: "mode", Value: "slow", Reason: "must be one of fast, safe"}}},
		{"list enum", map[string]string{"path": "p", "tags": "a,z"}, []Problem{{Field: "tags", Value: "a,z", Reason: "must be one of a, b, c"}}},
		{"int syntax", map[string]string{"path": "p", "count": "ten"}, []Problem{{Field: "count", Value: "ten", Reason: "not an integer"}}},
		{"int min", map[string]string{"path": "p", "count": "0"}, []Problem{{Field: "count", Value: "0", Reason: "must be at least 1"}}},
		{"int max", map[string]string{"path": "p", "count": "101"}, []Problem{{Field: "count", Value: "101", Reason: "must be at most 100"}}},
		{"bool", map[string]string{"path": "p", "follow": "yes"}, []Problem{{Field: "follow", Value: "yes", Reason: "not a boolean (true or false)"}}},
		{"duration", map[string]string{"path": "p", "poll.interval": "5"}, []Problem{{Field: "poll.interval", Value: "5", Reason: "not a duration (like 250ms, 10s, 1h)"}}},
		{"duration min", map[string]string{"path": "p", "poll.interval": "1us"}, []Problem{{Field: "poll.interval", Value: "1us", Reason: "must be at least 1ms"}}},
		{"bytes", map[string]string{"path": "p", "max.size": "1XB"}, []Problem{{Field: "max.size", Value: "1XB", Reason: "not a size (like 512, 64KiB, 10MB)"}}},
		{"bytes max", map[string]string{"path": "p", "max.size": "2GiB"}, []Problem{{Field: "max.size", Value: "2GiB", Reason: "must be at most 1073741824"}}},
		{"secret hidden", map[string]string{"path": "p", "password": "short"}, []Problem{{Field: "password", Reason: "shorter than 8 characters"}}},
		{"every problem at once", map[string]string{"mode": "slow", "count": "x", "bogus": "1"}, []Problem{
			{Field: "bogus", Value: "1", Reason: "unknown field"},
			{Field: "path", Reason: "required field is missing"},
			{Field: "mode", Value: "slow", Reason: "must be one of fast, safe"},
			{Field: "count", Value: "x", Reason: "not an integer"},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := testSpec().Parse(c.raw)
			got := Problems(err)
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("problems = %#v\nwant %#v", got, c.want)
			}
			if c.want != nil {
				var ve *ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("error %T is not a *ValidationError", err)
				}
				for _, p := range c.want {
					if !strings.Contains(err.Error(), p.Field) {
						t.Errorf("error text %q does not name %s", err, p.Field)
					}
				}
			}
		})
	}
}

func TestConfigGetterMisuse(t *testing.T) {
	cfg, err := testSpec().Parse(map[string]string{"path": "p"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		call func()
		want string
	}{
		{"undeclared", func() { cfg.String("nope") }, `"nope" is not declared`},
		{"wrong type", func() { cfg.Int("path") }, `"path" is a string, not a int`},
		{"bytes is not int", func() { cfg.Int("max.size") }, `is a bytes, not a int`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(fmt.Sprint(r), c.want) {
					t.Fatalf("panic = %v, want one containing %q", r, c.want)
				}
			}()
			c.call()
		})
	}
}

func TestParseBytes(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"512", 512, true}, {"512B", 512, true}, {"64KiB", 64 << 10, true},
		{"3 MiB", 3 << 20, true}, {"1GiB", 1 << 30, true}, {"10KB", 10000, true}, {"2MB", 2000000, true},
		{"1GB", 1000000000, true}, {"", 0, false}, {"-1", 0, false}, {"1.5MiB", 0, false}, {"KiB", 0, false},
		{"99999999999GiB", 0, false},
	}
	for _, c := range cases {
		got, err := ParseBytes(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d, ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

func TestSpecCheck(t *testing.T) {
	if err := testSpec().Check(); err != nil {
		t.Fatalf("the test spec is sound: %v", err)
	}
	cases := []struct {
		name  string
		field Field
		want  string
	}{
		{"bad name", Field{Name: "Poll Interval", Type: String, Description: "d"}, "name must be"},
		{"reserved name", Field{Name: "name", Type: String, Description: "d"}, "reserved for the connector runtime"},
		{"reserved errors key", Field{Name: "errors.log", Type: Bool, Description: "d"}, "reserved for the connector runtime"},
		{"no type", Field{Name: "a", Description: "d"}, "unknown type"},
		{"no description", Field{Name: "a", Type: String}, "no description"},
		{"required with default", Field{Name: "a", Type: String, Required: true, Default: "x", Description: "d"}, "cannot have a default"},
		{"enum on int", Field{Name: "a", Type: Int, Enum: []string{"1"}, Description: "d"}, "enum is only"},
		{"bounds on string", Field{Name: "a", Type: String, Min: Limit(1), Description: "d"}, "min/max are only"},
		{"inverted bounds", Field{Name: "a", Type: Int, Min: Limit(5), Max: Limit(1), Description: "d"}, "above max"},
		{"bad default", Field{Name: "a", Type: Duration, Default: "soon", Description: "d"}, `default "soon"`},
		{"default outside enum", Field{Name: "a", Type: String, Default: "c", Enum: []string{"a"}, Description: "d"}, "must be one of"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := ConfigSpec{Fields: []Field{c.field}}.Check()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Check() = %v, want an error containing %q", err, c.want)
			}
		})
	}
	dup := ConfigSpec{Fields: []Field{{Name: "a", Type: String, Description: "d"}, {Name: "a", Type: Int, Description: "d"}}}
	if err := dup.Check(); err == nil || !strings.Contains(err.Error(), "declared twice") {
		t.Fatalf("duplicate names: Check() = %v", err)
	}
}

func TestMarkdown(t *testing.T) {
	md := testSpec().Markdown()
	for _, want := range []string{
		"| field | type | default | required | description |",
		"| `path` | string |  | yes | where |",
		"| `count` | int | `10` |  | how many (min 1; max 100) |",
		"| `poll.interval` | duration | `250ms` |  | how often (min 1ms) |",
		"| `mode` | string | `fast` |  | how (one of: fast, safe) |",
		"| `password` | string |  |  | a secret (secret) |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
	if n := strings.Count(md, "\n"); n != 2+len(testSpec().Fields) {
		t.Errorf("Markdown has %d lines, want %d", n, 2+len(testSpec().Fields))
	}
}
