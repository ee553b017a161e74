package fileconn

import (
	"fmt"
	"path/filepath"
	"regexp"
	"time"

	"github.com/tributary-io/tributary/sdk"
)

// Version is the connector's semantic version.
const Version = "1.0.0"

// Header names of source records.
const (
	HeaderPath   = "file.path"
	HeaderOffset = "file.offset"
	HeaderLine   = "file.line"
)

// Plugin returns the file connector's declaration.
func Plugin() sdk.Plugin {
	return sdk.Plugin{
		Name:        "file",
		Version:     Version,
		Description: "tail log files into topics; append records to rolling files",
		Source: &sdk.SourceDef{
			Spec:     sourceSpec(),
			Validate: validateSource,
			New:      func(env sdk.Env) sdk.Source { return newSource(env.Logger, time.Now) },
		},
		Sink: &sdk.SinkDef{
			Spec: sinkSpec(),
			New:  func(env sdk.Env) sdk.Sink { return newSink(env.Logger, time.Now) },
		},
	}
}

func sourceSpec() sdk.ConfigSpec {
	return sdk.ConfigSpec{Fields: []sdk.Field{
		{Name: "paths", Type: sdk.List, Required: true,
			Description: "comma-separated glob patterns of the files to tail (filepath.Match syntax)",
			Check: func(v any) error {
				for _, p := range v.([]string) {
					if _, err := filepath.Match(p, ""); err != nil {
						return fmt.Errorf("pattern %q: %v", p, err)
					}
				}
				return nil
			}},
		{Name: "start", Type: sdk.String, Default: "beginning", Enum: []string{"beginning", "end"},
			Description: "where to start in files that exist when the source first starts without a committed position; files appearing later are read from their beginning"},
		{Name: "multiline.pattern", Type: sdk.String,
			Description: "regular expression matching the first line of a record; lines that do not match join the previous record. Empty: one record per line",
			Check: func(v any) error {
				_, err := regexp.Compile(v.(string))
				return err
			}},
		{Name: "multiline.max.lines", Type: sdk.Int, Default: "1000", Min: sdk.Limit(1),
			Description: "a multiline record is emitted when it reaches this many lines"},
		{Name: "multiline.timeout", Type: sdk.Duration, Default: "1s", Min: sdk.Limit(int64(time.Millisecond)),
			Description: "a multiline record is emitted when no line joined it for this long"},
		{Name: "poll.interval", Type: sdk.Duration, Default: "250ms", Min: sdk.Limit(int64(time.Millisecond)), Max: sdk.Limit(int64(time.Minute)),
			Description: "how often to look for new files and new data"},
		{Name: "fingerprint.bytes", Type: sdk.Int, Default: "256", Min: sdk.Limit(16), Max: sdk.Limit(64 << 10),
			Description: "how many bytes of a file's head identify it"},
		{Name: "line.max.bytes", Type: sdk.Bytes, Default: "1MiB", Min: sdk.Limit(16), Max: sdk.Limit(64 << 20),
			Description: "longer lines are split into records of this size"},
	}}
}

func validateSource(c sdk.Config) []sdk.Problem {
	if len(c.List("paths")) == 0 {
		return []sdk.Problem{{Field: "paths", Value: c.Raw()["paths"], Reason: "no pattern given"}}
	}
	return nil
}

func sinkSpec() sdk.ConfigSpec {
	return sdk.ConfigSpec{Fields: []sdk.Field{
		{Name: "dir", Type: sdk.String, Required: true, Description: "directory the files are written to; created when missing"},
		{Name: "file.prefix", Type: sdk.String, Default: "records",
			Description: "file names are <prefix>-<UTC time>-<sequence>.log",
			Check: func(v any) error {
				if s := v.(string); s == "" || s != filepath.Base(s) || s == "." || s == ".." {
					return fmt.Errorf("not a plain file name")
				}
				return nil
			}},
		{Name: "format", Type: sdk.String, Default: "value", Enum: []string{"value", "json"},
			Description: "value: the record's value and a newline; json: one JSON object per line with topic, partition, offset, timestamp, key, value and headers"},
		{Name: "roll.bytes", Type: sdk.Bytes, Default: "128MiB", Min: sdk.Limit(1),
			Description: "start a new file when the current one would grow past this size"},
		{Name: "roll.interval", Type: sdk.Duration, Default: "1h", Min: sdk.Limit(0),
			Description: "start a new file when the current one is older than this; 0 never rolls by age"},
	}}
}
