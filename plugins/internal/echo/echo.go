// Package echo is a test plugin written only against the SDK: a source that
// generates numbered records and a sink that appends values to a file. The
// host's tests build it into a binary (plugins/testdata/echoplugin) and also
// run it in-process, so the same code measures the plugin boundary.
package echo

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/tributary-io/tributary/sdk"
)

// Plugin returns the echo plugin declaring version.
func Plugin(version string) sdk.Plugin {
	return sdk.Plugin{
		Name:        "echo",
		Version:     version,
		Description: "numbered test records in, values appended to a file out",
		Source: &sdk.SourceDef{
			Spec: sdk.ConfigSpec{Fields: []sdk.Field{
				{Name: "count", Type: sdk.Int, Min: sdk.Limit(0), Description: "records to generate; 0 means no end"},
				{Name: "prefix", Type: sdk.String, Default: "rec", Description: "value prefix; values are <prefix>-<n>"},
				{Name: "value.bytes", Type: sdk.Bytes, Max: sdk.Limit(64 << 20), Description: "pad every value to this size"},
				{Name: "read.delay", Type: sdk.Duration, Description: "sleep this long in every Read"},
				{Name: "crash.on.open", Type: sdk.Bool, Description: "exit the process in Open (tests restarts)"},
				{Name: "say", Type: sdk.String, Description: "at Open, print this to stdout and stderr and log it"},
			}},
			Validate: func(c sdk.Config) []sdk.Problem {
				if c.Bytes("value.bytes") > 0 && c.Bytes("value.bytes") < int64(len(c.String("prefix"))+21) {
					return []sdk.Problem{{Field: "value.bytes", Value: strconv.FormatInt(c.Bytes("value.bytes"), 10), Reason: "smaller than a value without padding"}}
				}
				return nil
			},
			New: func(env sdk.Env) sdk.Source { return &Source{log: env.Logger} },
		},
		Sink: &sdk.SinkDef{
			Spec: sdk.ConfigSpec{Fields: []sdk.Field{
				{Name: "path", Type: sdk.String, Required: true, Description: "file the values are appended to, one per line"},
			}},
			New: func(sdk.Env) sdk.Sink { return &Sink{} },
		},
	}
}

// Source generates records "<prefix>-<n>" for n = 0, 1, …; the position after
// record n is n+1 as 8 big-endian bytes.
type Source struct {
	log    *slog.Logger
	next   uint64
	count  uint64
	prefix string
	pad    int
	delay  time.Duration
}

// Open starts at pos, or at record 0.
func (s *Source) Open(_ context.Context, cfg sdk.Config, pos sdk.Position) error {
	if cfg.Bool("crash.on.open") {
		os.Exit(2)
	}
	if say := cfg.String("say"); say != "" {
		fmt.Println("stdout: " + say)
		fmt.Fprintln(os.Stderr, "stderr: "+say)
		s.log.Info("log: "+say, "attr", 42)
	}
	s.count, s.prefix = uint64(cfg.Int("count")), cfg.String("prefix")
	s.pad, s.delay = int(cfg.Bytes("value.bytes")), cfg.Duration("read.delay")
	if pos != nil {
		if len(pos) != 8 {
			return fmt.Errorf("position has %d bytes, want 8", len(pos))
		}
		s.next = binary.BigEndian.Uint64(pos)
	}
	return nil
}

// Read generates up to max records; at the end of count it waits for ctx.
func (s *Source) Read(ctx context.Context, max int) ([]sdk.Record, error) {
	if s.delay > 0 {
		select {
		case <-time.After(s.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if s.count > 0 && s.next >= s.count {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	out := make([]sdk.Record, 0, max)
	for len(out) < max && (s.count == 0 || s.next < s.count) {
		v := Value(s.prefix, s.next, s.pad)
		s.next++
		out = append(out, sdk.Record{
			Key:      strconv.AppendUint(nil, s.next-1, 10),
			Value:    v,
			Headers:  []sdk.Header{{Key: "echo", Value: []byte("1")}},
			Position: binary.BigEndian.AppendUint64(nil, s.next),
		})
	}
	return out, nil
}

// Close does nothing: the source holds no resources.
func (s *Source) Close() error { return nil }

// Value is record n's value: "<prefix>-<n>", padded with dots to pad bytes.
func Value(prefix string, n uint64, pad int) []byte {
	v := fmt.Appendf(nil, "%s-%d", prefix, n)
	if len(v) < pad {
		v = append(v, bytes.Repeat([]byte{'.'}, pad-len(v))...)
	}
	return v
}

// Index parses n back out of a value made by Value.
func Index(prefix string, v []byte) (uint64, error) {
	v = bytes.TrimRight(v, ".")
	return strconv.ParseUint(string(bytes.TrimPrefix(v, []byte(prefix+"-"))), 10, 64)
}

// Sink appends values to a file; Flush writes them out and syncs.
type Sink struct {
	f *os.File
	w *bufio.Writer
}

// Open opens the file for appending.
func (k *Sink) Open(_ context.Context, cfg sdk.Config) error {
	f, err := os.OpenFile(cfg.String("path"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open echo sink: %w", err)
	}
	k.f, k.w = f, bufio.NewWriter(f)
	return nil
}

// Write buffers the values.
func (k *Sink) Write(_ context.Context, rs []sdk.Record) error {
	for _, r := range rs {
		k.w.Write(r.Value)
		k.w.WriteByte('\n')
	}
	return nil
}

// Flush writes the buffer and syncs the file.
func (k *Sink) Flush(context.Context) error {
	if err := k.w.Flush(); err != nil {
		return fmt.Errorf("flush echo sink: %w", err)
	}
	if err := k.f.Sync(); err != nil {
		return fmt.Errorf("sync echo sink: %w", err)
	}
	return nil
}

// Close closes the file without flushing the buffer.
func (k *Sink) Close() error {
	if k.f == nil {
		return nil
	}
	return k.f.Close()
}
