package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

func TestWriteYAMLMatchesJSONShape(t *testing.T) {
	type row struct {
		Name    string            `json:"name"`
		Count   int               `json:"count"`
		Note    *string           `json:"note"`
		Skipped string            `json:"skipped,omitempty"`
		Tags    map[string]string `json:"tags,omitempty"`
	}
	var b strings.Builder
	err := writeYAML(&b, []row{{Name: "123", Count: 2, Tags: map[string]string{"a": "true"}}, {Name: "x: y"}})
	if err != nil {
		t.Fatal(err)
	}
	want := `- name: "123"
  count: 2
  note: null
  tags:
    a: "true"
- name: 'x: y'
  count: 0
  note: null
`
	if b.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestCheckOutput(t *testing.T) {
	for _, f := range []string{"table", "json", "yaml"} {
		if err := checkOutput(f); err != nil {
			t.Errorf("checkOutput(%q) = %v", f, err)
		}
	}
	var u errUsage
	if err := checkOutput("csv"); !errors.As(err, &u) || !strings.Contains(err.Error(), "want table, json or yaml") {
		t.Fatalf("checkOutput(csv) = %v, want a usage error listing the formats", err)
	}
}

func TestBuildVersion(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.4.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"},
		{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"},
	}}
	tests := []struct {
		name, linked string
		bi           *debug.BuildInfo
		wantVersion  string
		wantLine     string
	}{
		{"link-time version wins", "v1.0.0", bi, "v1.0.0", "tributary v1.0.0 (commit 0123456789ab-dirty, go1.26.0 "},
		{"module version", "", bi, "v0.4.0", "tributary v0.4.0 (commit"},
		{"nothing known", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev", "tributary dev ("},
		{"no build info", "", nil, "dev", "tributary dev ("},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := buildVersion(tc.linked, tc.bi)
			if v.Version != tc.wantVersion || !strings.HasPrefix(v.String(), tc.wantLine) {
				t.Fatalf("got %+v (%s), want version %q and a line starting %q", v, v, tc.wantVersion, tc.wantLine)
			}
		})
	}
}

func TestHints(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	tests := []struct {
		err  error
		want string // substring; "" for no hint
	}{
		{fmt.Errorf("list topics: unable to dial: %w", refused), "start a broker with 'tributary serve'"},
		{fmt.Errorf("list topics: %w", context.DeadlineExceeded), "raise --request-timeout"},
		{fmt.Errorf("describe: %w", kerr.UnknownTopicOrPartition), "'tributary topic list'"},
		{fmt.Errorf("create: %w", kerr.TopicAlreadyExists), "'tributary topic describe NAME'"},
		{fmt.Errorf("create: %w", kerr.InvalidReplicationFactor), "at most the number of brokers"},
		{fmt.Errorf("delete: %w", kerr.NonEmptyGroup), "stop its consumers first"},
		{errors.New("something else"), ""},
	}
	for _, tc := range tests {
		got := hint(tc.err)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("hint(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestCompletionHelpParsing(t *testing.T) {
	help := "Usage: tributary topic <action> [flags]\n\nActions:\n  create     create a topic\n  list       list topics\n\n"
	if got := helpActions(help); !slices.Equal(got, []string{"create", "list"}) {
		t.Errorf("helpActions = %v", got)
	}
	flags := "Flags:\n  -bootstrap addresses\n    \tbrokers\n  -dry-run\n    \tonly show\n  -output format\n"
	if got := helpFlags(flags); !slices.Equal(got, []string{"--bootstrap", "--dry-run", "--output"}) {
		t.Errorf("helpFlags = %v", got)
	}
}

func TestNodeHTTPAddr(t *testing.T) {
	tests := map[string]string{
		":8080":          "localhost:8080",
		"0.0.0.0:8080":   "localhost:8080",
		"10.0.0.5:9000":  "10.0.0.5:9000",
		"node3:8080":     "node3:8080",
		"[::]:8080":      "localhost:8080",
		"not an address": "not an address",
	}
	for in, want := range tests {
		if got := nodeHTTPAddr(in); got != want {
			t.Errorf("nodeHTTPAddr(%q) = %q, want %q", in, got, want)
		}
	}
}
