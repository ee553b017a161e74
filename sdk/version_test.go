package sdk

import (
	"strings"
	"testing"
)

func TestParseVersion(t *testing.T) {
	cases := []struct {
		in   string
		want string // "" means invalid
	}{
		{"1.2.3", "1.2.3"}, {"v0.1.0", "0.1.0"}, {"1.0.0-rc.1", "1.0.0-rc.1"},
		{"1.0.0-alpha+build.5", "1.0.0-alpha+build.5"}, {"10.20.30", "10.20.30"},
		{"1.2", ""}, {"1.2.3.4", ""}, {"01.2.3", ""}, {"1.2.x", ""}, {"", ""},
		{"1.0.0-", ""}, {"1.0.0-01", ""}, {"1.0.0+", ""}, {"1.0.0-a..b", ""}, {"1.0.0-a_b", ""},
	}
	for _, c := range cases {
		v, err := ParseVersion(c.in)
		switch {
		case c.want == "" && err == nil:
			t.Errorf("ParseVersion(%q) = %v, want an error", c.in, v)
		case c.want != "" && err != nil:
			t.Errorf("ParseVersion(%q): %v", c.in, err)
		case c.want != "" && v.String() != c.want:
			t.Errorf("ParseVersion(%q) = %s, want %s", c.in, v, c.want)
		}
	}
}

func TestVersionCompare(t *testing.T) {
	// The precedence example of semver.org §11, ascending.
	order := []string{"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
		"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0"}
	for i := range order {
		for j := range order {
			a, _ := ParseVersion(order[i])
			b, _ := ParseVersion(order[j])
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := a.Compare(b); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", a, b, got, want)
			}
		}
	}
	a, _ := ParseVersion("1.0.0+x")
	b, _ := ParseVersion("1.0.0+y")
	if a.Compare(b) != 0 {
		t.Error("build metadata must not take part in precedence")
	}
}

func TestPluginCheck(t *testing.T) {
	newSrc := func(Env) Source { return nil }
	cases := []struct {
		name string
		p    Plugin
		want []string // substrings of the error; nil means sound
	}{
		{"sound", Plugin{Name: "file", Version: "1.0.0", Source: &SourceDef{New: newSrc}}, nil},
		{"everything wrong", Plugin{Name: "File_1", Version: "1.0"}, []string{"plugin name", "plugin version", "neither a source nor a sink"}},
		{"no constructor", Plugin{Name: "x", Version: "1.0.0", Sink: &SinkDef{}}, []string{"sink: New is nil"}},
		{"bad spec", Plugin{Name: "x", Version: "1.0.0", Source: &SourceDef{New: newSrc, Spec: ConfigSpec{Fields: []Field{{Name: "a"}}}}}, []string{"source spec"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.p.Check()
			if c.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("Check() = nil, want errors")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Check() = %v, want it to mention %q", err, w)
				}
			}
		})
	}
}
