package perf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Limit is one measured machine limit: how fast the hardware moves the same
// bytes without a broker.
type Limit struct {
	Name    string  `json:"name"`
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
	// MBPerSec is Bytes/Seconds in MB (10^6 bytes) per second.
	MBPerSec float64 `json:"mb_per_sec"`
}

func newLimit(name string, n int64, d time.Duration) Limit {
	l := Limit{Name: name, Bytes: n, Seconds: d.Seconds()}
	if l.Seconds > 0 {
		l.MBPerSec = float64(n) / 1e6 / l.Seconds
	}
	return l
}

// FileWrite writes total bytes to a new file in dir in chunk-sized writes, as
// a log appends batches, with an fsync after every syncEvery bytes (0: never,
// the broker's default flush policy) and measures the rate. The file is kept
// for FileRead; remove it when done.
func FileWrite(dir string, total int64, chunk int, syncEvery int64) (Limit, string, error) {
	if total <= 0 || chunk <= 0 {
		return Limit{}, "", fmt.Errorf("file write: total %d and chunk %d must be positive", total, chunk)
	}
	f, err := os.CreateTemp(dir, "limit-*.raw")
	if err != nil {
		return Limit{}, "", fmt.Errorf("file write limit: %w", err)
	}
	path := f.Name()
	buf := make([]byte, chunk)
	for i := range buf {
		buf[i] = 'A' + byte(i%26)
	}
	start := time.Now()
	var written, sinceSync int64
	for written < total {
		n := int(min(int64(chunk), total-written))
		if _, err := f.Write(buf[:n]); err != nil {
			_ = f.Close()
			return Limit{}, path, fmt.Errorf("file write limit: write %s: %w", path, err)
		}
		written += int64(n)
		sinceSync += int64(n)
		if syncEvery > 0 && sinceSync >= syncEvery {
			if err := f.Sync(); err != nil {
				_ = f.Close()
				return Limit{}, path, fmt.Errorf("file write limit: fsync %s: %w", path, err)
			}
			sinceSync = 0
		}
	}
	d := time.Since(start)
	if err := f.Close(); err != nil {
		return Limit{}, path, fmt.Errorf("file write limit: close %s: %w", path, err)
	}
	name := "file write"
	if syncEvery > 0 {
		name = fmt.Sprintf("file write, fsync/%d B", syncEvery)
	}
	return newLimit(name, written, d), path, nil
}

// FileRead reads the file at path sequentially in chunk-sized reads and
// measures the rate (from the page cache when the file was just written, as a
// consumer that keeps up reads the log).
func FileRead(path string, chunk int) (Limit, error) {
	f, err := os.Open(path)
	if err != nil {
		return Limit{}, fmt.Errorf("file read limit: %w", err)
	}
	defer f.Close()
	buf := make([]byte, chunk)
	start := time.Now()
	var total int64
	for {
		n, err := f.Read(buf)
		total += int64(n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Limit{}, fmt.Errorf("file read limit: read %s: %w", filepath.Base(path), err)
		}
	}
	return newLimit("file read", total, time.Since(start)), nil
}

// TCPCopy sends total bytes over a loopback TCP connection in chunk-sized
// writes, from one goroutine to another reading, and measures the rate: the
// most a broker on this machine could send to a local consumer.
func TCPCopy(ctx context.Context, total int64, chunk int) (Limit, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Limit{}, fmt.Errorf("tcp copy limit: %w", err)
	}
	defer ln.Close()
	type result struct {
		n   int64
		err error
	}
	got := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- result{err: err}
			return
		}
		defer c.Close()
		n, err := io.Copy(io.Discard, c)
		got <- result{n, err}
	}()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		ln.Close()
		<-got
		return Limit{}, fmt.Errorf("tcp copy limit: %w", err)
	}
	buf := make([]byte, chunk)
	start := time.Now()
	var sent int64
	var werr error
	for sent < total && werr == nil {
		n := int(min(int64(chunk), total-sent))
		n, werr = c.Write(buf[:n])
		sent += int64(n)
	}
	_ = c.Close()
	r := <-got
	d2 := time.Since(start)
	if err := errors.Join(werr, r.err); err != nil {
		return Limit{}, fmt.Errorf("tcp copy limit: %w", err)
	}
	return newLimit("loopback tcp copy", r.n, d2), nil
}
