// Package greeter is a source that greets: record n is "hello, <who> #n".
package greeter

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"time"

	"github.com/tributary-io/tributary/sdk"
)

// Plugin declares the plugin: name, version, and a source with its config.
func Plugin() sdk.Plugin {
	return sdk.Plugin{
		Name:        "greeter",
		Version:     "0.1.0",
		Description: "greets someone, again and again",
		Source: &sdk.SourceDef{
			Spec: sdk.ConfigSpec{Fields: []sdk.Field{
				{Name: "who", Type: sdk.String, Required: true, Description: "who to greet"},
				{Name: "interval", Type: sdk.Duration, Default: "100ms",
					Min: sdk.Limit(int64(time.Millisecond)), Description: "time between greetings"},
				{Name: "count", Type: sdk.Int, Min: sdk.Limit(0), Description: "greetings to send; 0 means no end"},
			}},
			New: func(env sdk.Env) sdk.Source { return &source{log: env.Logger} },
		},
	}
}

type source struct {
	log      *slog.Logger
	who      string
	interval time.Duration
	count    uint64
	next     uint64 // the number of the next greeting
	last     time.Time
}

// Open reads the config; pos is the position of the last committed record.
func (s *source) Open(_ context.Context, cfg sdk.Config, pos sdk.Position) error {
	s.who, s.interval, s.count = cfg.String("who"), cfg.Duration("interval"), uint64(cfg.Int("count"))
	if pos != nil {
		if len(pos) != 8 {
			return fmt.Errorf("greeter: position of %d bytes, want 8", len(pos))
		}
		s.next = binary.BigEndian.Uint64(pos)
	}
	s.log.Info("greeter opened", "who", s.who, "from", s.next)
	return nil
}

// Read waits for the next greeting time and returns one greeting.
func (s *source) Read(ctx context.Context, max int) ([]sdk.Record, error) {
	if s.count > 0 && s.next >= s.count {
		<-ctx.Done() // nothing more, ever: wait as long as the host lets us
		return nil, ctx.Err()
	}
	if wait := s.interval - time.Since(s.last); wait > 0 {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	s.last = time.Now()
	rec := sdk.Record{
		Value: fmt.Appendf(nil, "hello, %s #%d", s.who, s.next),
		// The position after this record: opening at it resumes with the next one.
		Position: binary.BigEndian.AppendUint64(nil, s.next+1),
	}
	s.next++
	return []sdk.Record{rec}, nil
}

// Close releases nothing: the source holds no resources.
func (s *source) Close() error { return nil }
