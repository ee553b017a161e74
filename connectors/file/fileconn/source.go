package fileconn

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"github.com/tributary-io/tributary/sdk"
)

// source tails the files matching its globs. It is driven by one goroutine
// (the SDK serialises calls) and starts none of its own.
type source struct {
	log *slog.Logger
	now func() time.Time

	patterns  []string
	startEnd  bool
	multiline *regexp.Regexp
	maxLines  int
	mlTimeout time.Duration
	poll      time.Duration
	fpBytes   int
	lineMax   int

	files []*tracked
	rr    int // the file that reads first in the next collect pass
	// restored holds the marks of Open's position until the first scan
	// assigns them to files; resumed says whether there was a position.
	restored []mark
	resumed  bool
	scanned  bool
	lastScan time.Time
	// ignored holds files whose head equals a tracked file's: copies.
	ignored map[fileID]bool
	// scratch is reused for head reads.
	scratch []byte
}

func newSource(log *slog.Logger, now func() time.Time) *source {
	return &source{log: log, now: now, ignored: map[fileID]bool{}}
}

// Open reads the configuration and the position; files are found by Read.
func (s *source) Open(_ context.Context, cfg sdk.Config, pos sdk.Position) error {
	if platformErr != nil {
		return platformErr
	}
	s.patterns = cfg.List("paths")
	s.startEnd = cfg.String("start") == "end"
	if p := cfg.String("multiline.pattern"); p != "" {
		re, err := regexp.Compile(p)
		if err != nil {
			return fmt.Errorf("multiline.pattern: %w", err)
		}
		s.multiline = re
	}
	s.maxLines = int(cfg.Int("multiline.max.lines"))
	s.mlTimeout = cfg.Duration("multiline.timeout")
	s.poll = cfg.Duration("poll.interval")
	s.fpBytes = int(cfg.Int("fingerprint.bytes"))
	s.lineMax = int(cfg.Bytes("line.max.bytes"))
	if pos != nil {
		marks, err := decodePosition(pos)
		if err != nil {
			return err
		}
		s.restored, s.resumed = marks, true
	}
	return nil
}

// Read scans for files every poll interval and returns up to max records
// from them, waiting for data until ctx ends.
func (s *source) Read(ctx context.Context, limit int) ([]sdk.Record, error) {
	for {
		if !s.scanned || s.now().Sub(s.lastScan) >= s.poll {
			if err := s.scan(); err != nil {
				return nil, err
			}
		}
		out, err := s.collect(limit)
		if err != nil || len(out) > 0 {
			return out, err
		}
		wait := s.poll - s.now().Sub(s.lastScan)
		if d, ok := s.nextEventTimeout(); ok && d < wait {
			wait = d
		}
		timer := time.NewTimer(max(wait, time.Millisecond))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-timer.C:
		}
	}
}

// Close closes every file.
func (s *source) Close() error {
	for _, st := range s.files {
		st.f.Close()
	}
	s.files = nil
	return nil
}

// candidate is a file a scan found that is not tracked yet.
type candidate struct {
	path string
	id   fileID
	size int64
	f    *os.File
}

// scan globs for files, starts tracking new ones and checks tracked ones for
// truncation, rewrites and disappearance.
func (s *source) scan() error {
	s.lastScan = s.now()
	var paths []string
	for _, p := range s.patterns {
		m, err := filepath.Glob(p)
		if err != nil {
			return fmt.Errorf("glob %q: %w", p, err)
		}
		paths = append(paths, m...)
	}
	slices.Sort(paths)
	paths = slices.Compact(paths)
	seen := map[fileID]bool{}
	var fresh []candidate
	for _, path := range paths {
		fi, err := os.Stat(path)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		id := idOf(fi)
		seen[id] = true
		if st := s.byID(id); st != nil {
			st.path = path
			continue
		}
		if s.ignored[id] || fi.Size() == 0 {
			// Empty files have no fingerprint yet; look again next scan.
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			s.log.Warn("cannot open file", "path", path, "error", err)
			continue
		}
		fresh = append(fresh, candidate{path: path, id: id, size: fi.Size(), f: f})
	}
	s.track(fresh)
	for _, st := range s.files {
		st.matched = seen[st.id]
		if err := s.check(st); err != nil {
			return err
		}
	}
	s.scanned = true
	s.restored = nil
	for id := range s.ignored {
		if !seen[id] {
			delete(s.ignored, id)
		}
	}
	return nil
}

// track starts tracking fresh files: first at the marks of a restored
// position (by fingerprint, preferring the same inode), then copies of
// tracked files are ignored, and the rest start at 0 (or at their end on a
// first start with start=end).
func (s *source) track(fresh []candidate) {
	heads := make([]fingerprint, len(fresh))
	starts := make([]*mark, len(fresh))
	for i, c := range fresh {
		head, err := s.readHead(c.f, min(c.size, int64(s.fpBytes)))
		if err != nil {
			s.log.Warn("cannot read file head", "path", c.path, "error", err)
			c.f.Close()
			fresh[i].f = nil
			continue
		}
		heads[i] = fingerprintOf(head)
	}
	for pass := 0; pass < 2 && len(s.restored) > 0; pass++ {
		for i, c := range fresh {
			if c.f == nil || starts[i] != nil {
				continue
			}
			for j, m := range s.restored {
				if (pass == 0 && m.id != c.id) || int64(m.fp.n) > c.size || !s.headMatches(c.f, m.fp) {
					continue
				}
				starts[i] = &m
				s.restored = slices.Delete(s.restored, j, j+1)
				break
			}
		}
	}
	for i, c := range fresh {
		if c.f == nil {
			continue
		}
		st := &tracked{id: c.id, path: c.path, f: c.f, fp: heads[i]}
		switch m := starts[i]; {
		case m != nil && m.offset <= c.size:
			st.offset, st.line, st.readOff, st.readLine = m.offset, m.line, m.offset, m.line
		case m != nil:
			s.log.Info("file shrank while the source was stopped; reading it again", "path", c.path)
		case s.isCopy(st):
			s.ignored[c.id] = true
			c.f.Close()
			continue
		case !s.scanned && !s.resumed && s.startEnd:
			// Lines are counted from here: the file's earlier lines are not read.
			st.offset, st.readOff = c.size, c.size
		}
		s.log.Debug("tracking file", "path", c.path, "offset", st.offset)
		s.files = append(s.files, st)
	}
}

// isCopy reports whether st's head equals a tracked file's full-length
// fingerprint, as a copy made by copytruncate rotation does. Short heads
// prove nothing: young files often start alike.
func (s *source) isCopy(st *tracked) bool {
	if int(st.fp.n) < s.fpBytes {
		return false
	}
	for _, o := range s.files {
		if o.fp == st.fp {
			return true
		}
	}
	return false
}

func (s *source) byID(id fileID) *tracked {
	for _, st := range s.files {
		if st.id == id {
			return st
		}
	}
	return nil
}

// readHead reads the first n bytes of f into the scratch buffer.
func (s *source) readHead(f *os.File, n int64) ([]byte, error) {
	if int64(cap(s.scratch)) < n {
		s.scratch = make([]byte, n)
	}
	head := s.scratch[:n]
	if _, err := f.ReadAt(head, 0); err != nil {
		return nil, err
	}
	return head, nil
}

func (s *source) headMatches(f *os.File, fp fingerprint) bool {
	head, err := s.readHead(f, int64(fp.n))
	return err == nil && fingerprintOf(head) == fp
}

// check looks at a tracked file's size and head: a file shorter than what
// was read, or with another head, was truncated or rewritten and is read
// again from 0; a head that grew refines the fingerprint; a file no glob
// matches any more is finished once read to its end.
func (s *source) check(st *tracked) error {
	fi, err := st.f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", st.path, err)
	}
	size := fi.Size()
	st.size = size
	switch {
	case size < st.readOff+int64(len(st.buf)):
		s.log.Info("file truncated; reading it from the start", "path", st.path, "size", size, "read", st.readOff)
		st.rewound = true
	case size > 0:
		head, err := s.readHead(st.f, min(size, int64(s.fpBytes)))
		if err != nil {
			return fmt.Errorf("read head of %s: %w", st.path, err)
		}
		switch {
		case st.fp.n == 0:
			st.fp = fingerprintOf(head)
		case int(st.fp.n) > len(head) || fingerprintOf(head[:st.fp.n]) != st.fp:
			s.log.Info("file rewritten; reading it from the start", "path", st.path)
			st.rewound = true
		case len(head) > int(st.fp.n):
			st.fp = fingerprintOf(head)
		}
	}
	atEOF := st.readOff+int64(len(st.buf)) >= size
	if !st.matched && atEOF {
		st.idleScans++
	} else {
		st.idleScans = 0
	}
	// Two scans at the end of an unmatched file: the writer that renamed
	// or deleted it has had a poll interval to finish its last write.
	st.finished = st.idleScans >= 2
	return nil
}

// nextEventTimeout is the time until the oldest pending multiline event
// must be emitted.
func (s *source) nextEventTimeout() (time.Duration, bool) {
	var next time.Duration
	found := false
	for _, st := range s.files {
		if st.event == nil {
			continue
		}
		d := s.mlTimeout - time.Duration(s.now().UnixNano()-st.event.lastAppendTime)
		if !found || d < next {
			next, found = d, true
		}
	}
	return next, found
}
