package fileconn

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"
	"unicode/utf8"

	"github.com/tributary-io/tributary/sdk"
)

// sink appends records to rolling files. Driven by one goroutine.
type sink struct {
	log *slog.Logger
	now func() time.Time

	dir, prefix  string
	json         bool
	rollBytes    int64
	rollInterval time.Duration

	f       *os.File
	w       *bufio.Writer
	size    int64 // bytes written to the current file, buffered ones included
	opened  time.Time
	seq     int
	scratch []byte
}

func newSink(log *slog.Logger, now func() time.Time) *sink {
	return &sink{log: log, now: now}
}

// Open creates the directory; the first file is created by the first Write.
func (k *sink) Open(_ context.Context, cfg sdk.Config) error {
	k.dir, k.prefix = cfg.String("dir"), cfg.String("file.prefix")
	k.json = cfg.String("format") == "json"
	k.rollBytes, k.rollInterval = cfg.Bytes("roll.bytes"), cfg.Duration("roll.interval")
	if err := os.MkdirAll(k.dir, 0o755); err != nil {
		return fmt.Errorf("file sink: %w", err)
	}
	return nil
}

// Write appends every record as a line, rolling files as they fill or age.
func (k *sink) Write(_ context.Context, records []sdk.Record) error {
	for i := range records {
		line, err := k.format(&records[i])
		if err != nil {
			return err
		}
		if k.f != nil && (k.size+int64(len(line)) > k.rollBytes && k.size > 0 ||
			k.rollInterval > 0 && k.now().Sub(k.opened) >= k.rollInterval) {
			if err := k.roll(); err != nil {
				return err
			}
		}
		if k.f == nil {
			if err := k.create(); err != nil {
				return err
			}
		}
		if _, err := k.w.Write(line); err != nil {
			return fmt.Errorf("file sink: write %s: %w", k.f.Name(), err)
		}
		k.size += int64(len(line))
	}
	return nil
}

// Flush writes the buffer and fsyncs the current file.
func (k *sink) Flush(context.Context) error {
	if k.f == nil {
		return nil
	}
	if err := k.w.Flush(); err != nil {
		return fmt.Errorf("file sink: flush %s: %w", k.f.Name(), err)
	}
	if err := k.f.Sync(); err != nil {
		return fmt.Errorf("file sink: sync %s: %w", k.f.Name(), err)
	}
	return nil
}

// Close closes the current file without writing the buffer.
func (k *sink) Close() error {
	if k.f == nil {
		return nil
	}
	err := k.f.Close()
	k.f, k.w = nil, nil
	return err
}

// roll makes the current file durable and closes it; the next record
// creates a new one.
func (k *sink) roll() error {
	if err := k.Flush(context.Background()); err != nil {
		return err
	}
	name := k.f.Name()
	if err := k.Close(); err != nil {
		return fmt.Errorf("file sink: close %s: %w", name, err)
	}
	k.log.Debug("rolled file", "path", name)
	return nil
}

// create makes a new file; the sequence number keeps names unique within
// one timestamp, and O_EXCL keeps the sink from appending to another
// instance's file.
func (k *sink) create() error {
	stamp := k.now().UTC().Format("20060102T150405.000Z")
	for tries := 0; ; tries++ {
		k.seq++
		path := filepath.Join(k.dir, fmt.Sprintf("%s-%s-%06d.log", k.prefix, stamp, k.seq))
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if errors.Is(err, fs.ErrExist) && tries < 1000 {
			continue
		}
		if err != nil {
			return fmt.Errorf("file sink: create: %w", err)
		}
		// The new name must survive a crash as much as its contents.
		if d, err := os.Open(k.dir); err == nil {
			_ = d.Sync()
			d.Close()
		}
		if k.w == nil {
			k.w = bufio.NewWriterSize(f, 256<<10)
		} else {
			k.w.Reset(f)
		}
		k.f, k.size, k.opened = f, 0, k.now()
		return nil
	}
}

// jsonRecord is one line of format=json. Keys and values that are not UTF-8
// go base64-encoded in the *_b64 fields.
type jsonRecord struct {
	Topic     string       `json:"topic"`
	Partition int32        `json:"partition"`
	Offset    int64        `json:"offset"`
	Timestamp int64        `json:"timestamp_ms,omitempty"`
	Key       *string      `json:"key,omitempty"`
	KeyB64    string       `json:"key_b64,omitempty"`
	Value     *string      `json:"value,omitempty"`
	ValueB64  string       `json:"value_b64,omitempty"`
	Headers   []jsonHeader `json:"headers,omitempty"`
}

type jsonHeader struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// format renders one record as a line, newline included.
func (k *sink) format(r *sdk.Record) ([]byte, error) {
	if !k.json {
		k.scratch = append(append(k.scratch[:0], r.Value...), '\n')
		return k.scratch, nil
	}
	jr := jsonRecord{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}
	if !r.Timestamp.IsZero() {
		jr.Timestamp = r.Timestamp.UnixMilli()
	}
	jr.Key, jr.KeyB64 = text(r.Key)
	jr.Value, jr.ValueB64 = text(r.Value)
	for _, h := range r.Headers {
		jr.Headers = append(jr.Headers, jsonHeader{Key: h.Key, Value: string(h.Value)})
	}
	b, err := json.Marshal(jr)
	if err != nil {
		return nil, fmt.Errorf("file sink: encode record: %w", err)
	}
	return append(b, '\n'), nil
}

// text returns b as a string when it is UTF-8, else base64; nil stays absent.
func text(b []byte) (*string, string) {
	if b == nil {
		return nil, ""
	}
	if utf8.Valid(b) {
		s := string(b)
		return &s, ""
	}
	return nil, base64.StdEncoding.EncodeToString(b)
}
