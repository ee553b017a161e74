package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is the release this binary was built as. `make build` sets it at
// link time (-ldflags "-X main.version=..."), the one place it is written;
// when empty, the module version from the build info is used.
var version string

// versionInfo is what `tributary version` prints.
type versionInfo struct {
	Version    string `json:"version"`
	Commit     string `json:"commit,omitempty"`
	CommitTime string `json:"commit_time,omitempty"`
	Modified   bool   `json:"modified,omitempty"`
	Go         string `json:"go"`
	Platform   string `json:"platform"`
}

// buildVersion describes the binary from the link-time version and the
// build info (module version and VCS stamps, when the build recorded them).
func buildVersion(linked string, bi *debug.BuildInfo) versionInfo {
	v := versionInfo{Version: linked, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi != nil {
		if v.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
		if bi.GoVersion != "" {
			v.Go = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Commit = s.Value
			case "vcs.time":
				v.CommitTime = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	if v.Version == "" {
		v.Version = "dev"
	}
	return v
}

// String is the one-line form: "tributary v0.3.0 (commit 1a2b3c4d5e6f, go1.26.0 linux/amd64)".
func (v versionInfo) String() string {
	extra := ""
	if v.Commit != "" {
		c := v.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		extra = "commit " + c
		if v.Modified {
			extra += "-dirty"
		}
		extra += ", "
	}
	return fmt.Sprintf("tributary %s (%s%s %s)", v.Version, extra, v.Go, v.Platform)
}

func runVersion(_ context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "version", "version [--output table|json|yaml]")
	output := fs.String("output", outputTable, "output `format`: "+outputFormats)
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErrorf("unexpected argument %q", rest[0])
	}
	if err := checkOutput(*output); err != nil {
		return err
	}
	bi, _ := debug.ReadBuildInfo()
	v := buildVersion(version, bi)
	if *output != outputTable {
		return writeStructured(c.stdout, *output, v)
	}
	_, err = fmt.Fprintln(c.stdout, v)
	return err
}
