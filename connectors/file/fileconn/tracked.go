package fileconn

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"

	"github.com/tributary-io/tributary/sdk"
)

// readChunk is how much one file reads per turn, so files take turns.
const readChunk = 64 << 10

// tracked is one file being tailed.
type tracked struct {
	id   fileID
	path string
	f    *os.File
	fp   fingerprint // n == 0: not fingerprinted yet, so not read yet
	size int64       // at the last check

	// offset and line mark the end of the last emitted record: what a
	// position records and a restart resumes from.
	offset, line int64
	// readOff and readLine mark what was consumed into records or into the
	// pending event; buf holds bytes read beyond readOff.
	readOff, readLine int64
	buf               []byte
	event             *event

	matched   bool // a glob matched it at the last scan
	idleScans int  // scans that found it unmatched and read to its end
	finished  bool // unmatched and read: drain, then close
	rewound   bool // truncated or rewritten: drain, then read from 0
	closed    bool
}

// event is a multiline record being assembled.
type event struct {
	value          []byte
	lines          int
	offset, line   int64 // where its first line starts, and that line's number
	end, endLine   int64 // what offset and line become once it is emitted
	lastAppendTime int64 // unix nanoseconds of the last line joining it
}

// collect reads from the files in turns until max records or no file has
// anything more, emits multiline events that timed out, and closes finished
// files.
func (s *source) collect(max int) ([]sdk.Record, error) {
	var out []sdk.Record
	for progress := true; progress && len(out) < max && len(s.files) > 0; {
		progress = false
		n := len(s.files)
		for i := 0; i < n && len(out) < max; i++ {
			st := s.files[(s.rr+i)%n]
			p, err := s.step(st, &out, max)
			if err != nil {
				return nil, err
			}
			progress = progress || p
		}
		s.rr = (s.rr + 1) % n
	}
	now := s.now().UnixNano()
	for _, st := range s.files {
		if len(out) >= max {
			break
		}
		if st.event != nil && now-st.event.lastAppendTime >= int64(s.mlTimeout) && bytes.IndexByte(st.buf, '\n') < 0 {
			s.emitEvent(st, &out)
		}
	}
	s.files = slices.DeleteFunc(s.files, func(st *tracked) bool { return st.closed })
	return out, nil
}

// step gives one file its turn and reports whether it made progress.
func (s *source) step(st *tracked, out *[]sdk.Record, max int) (bool, error) {
	if st.closed {
		return false, nil
	}
	if st.rewound {
		if !s.drain(st, out, max) {
			return true, nil
		}
		if err := s.rewind(st); err != nil {
			return false, err
		}
		return true, nil
	}
	progress, err := s.readFile(st, out, max)
	if err != nil || progress || !st.finished {
		return progress, err
	}
	if !s.drain(st, out, max) {
		return true, nil
	}
	s.log.Debug("finished file", "path", st.path, "offset", st.offset)
	st.f.Close()
	st.closed = true
	return true, nil
}

// readFile consumes complete lines of st within the budget, reading one
// chunk when it has none buffered.
func (s *source) readFile(st *tracked, out *[]sdk.Record, max int) (bool, error) {
	if st.fp.n == 0 {
		// Not fingerprinted yet: records from it could not be resumed.
		return false, nil
	}
	if bytes.IndexByte(st.buf, '\n') < 0 && len(st.buf) < s.lineMax {
		// Check the head right before reading: a file rewritten since the
		// last scan must not be read at its old offset.
		if err := s.verifyHead(st); err != nil || st.rewound {
			return st.rewound, err
		}
		have := len(st.buf)
		st.buf = slices.Grow(st.buf, readChunk)[:have+readChunk]
		n, err := st.f.ReadAt(st.buf[have:], st.readOff+int64(have))
		st.buf = st.buf[:have+n]
		if err != nil && err != io.EOF {
			return false, fmt.Errorf("read %s: %w", st.path, err)
		}
	}
	consumed := 0
	for len(*out) < max {
		rest := st.buf[consumed:]
		i := bytes.IndexByte(rest, '\n')
		var line []byte
		var take int
		newline := false
		switch {
		case i >= 0 && i <= s.lineMax:
			line, take, newline = bytes.TrimSuffix(rest[:i], []byte{'\r'}), i+1, true
		case len(rest) >= s.lineMax:
			// An overlong line becomes several records.
			line, take = rest[:s.lineMax], s.lineMax
		}
		if take == 0 {
			break
		}
		start, lineNo := st.readOff, st.readLine+1
		st.readOff += int64(take)
		if newline {
			st.readLine++
		}
		consumed += take
		s.feed(st, bytes.Clone(line), start, lineNo, out)
	}
	if consumed > 0 {
		st.buf = st.buf[:copy(st.buf, st.buf[consumed:])]
	}
	return consumed > 0, nil
}

// verifyHead rereads st's head: a head that no longer matches marks st
// rewound; a head that grew refines the fingerprint.
func (s *source) verifyHead(st *tracked) error {
	head := s.scratch[:0]
	if cap(head) < s.fpBytes {
		head = make([]byte, s.fpBytes)
		s.scratch = head
	}
	n, err := st.f.ReadAt(head[:s.fpBytes], 0)
	if err != nil && err != io.EOF {
		return fmt.Errorf("read head of %s: %w", st.path, err)
	}
	head = head[:n]
	switch {
	case n < int(st.fp.n) || fingerprintOf(head[:st.fp.n]) != st.fp:
		s.log.Info("file rewritten; reading it from the start", "path", st.path)
		st.rewound = true
	case n > int(st.fp.n):
		st.fp = fingerprintOf(head)
	}
	return nil
}

// feed hands a line (or a piece of an overlong line) that started at start
// to the record assembly: a record of its own, or part of a multiline event.
func (s *source) feed(st *tracked, line []byte, start, lineNo int64, out *[]sdk.Record) {
	if s.multiline == nil {
		s.emit(st, line, start, lineNo, st.readOff, st.readLine, out)
		return
	}
	now := s.now().UnixNano()
	if ev := st.event; ev != nil && ev.lines < s.maxLines && !s.multiline.Match(line) {
		ev.value = append(append(ev.value, '\n'), line...)
		ev.lines++
		ev.end, ev.endLine, ev.lastAppendTime = st.readOff, st.readLine, now
		return
	}
	if st.event != nil {
		s.emitEvent(st, out)
	}
	st.event = &event{value: line, lines: 1, offset: start, line: lineNo, end: st.readOff, endLine: st.readLine, lastAppendTime: now}
}

func (s *source) emitEvent(st *tracked, out *[]sdk.Record) {
	ev := st.event
	st.event = nil
	s.emit(st, ev.value, ev.offset, ev.line, ev.end, ev.endLine, out)
}

// emit appends a record and moves st's mark to its end.
func (s *source) emit(st *tracked, value []byte, offset, lineNo, end, endLine int64, out *[]sdk.Record) {
	st.offset, st.line = end, endLine
	*out = append(*out, sdk.Record{
		Value:     value,
		Timestamp: s.now(),
		Headers: []sdk.Header{
			{Key: HeaderPath, Value: []byte(st.path)},
			{Key: HeaderOffset, Value: strconv.AppendInt(nil, offset, 10)},
			{Key: HeaderLine, Value: strconv.AppendInt(nil, lineNo, 10)},
		},
		Position: s.position(),
	})
}

// position encodes the marks of every file being read.
func (s *source) position() sdk.Position {
	marks := make([]mark, 0, len(s.files))
	for _, st := range s.files {
		if st.fp.n > 0 && !st.closed {
			marks = append(marks, mark{fp: st.fp, id: st.id, offset: st.offset, line: st.line})
		}
	}
	return encodePosition(make([]byte, 0, 2+len(marks)*24), marks)
}

// drain emits what st consumed but did not emit yet: an unterminated last
// line and the pending event. It reports false when the budget ran out first.
func (s *source) drain(st *tracked, out *[]sdk.Record, max int) bool {
	if len(st.buf) > 0 {
		if len(*out) >= max {
			return false
		}
		start, lineNo := st.readOff, st.readLine+1
		st.readOff += int64(len(st.buf))
		line := bytes.Clone(st.buf)
		st.buf = st.buf[:0]
		s.feed(st, line, start, lineNo, out)
	}
	if st.event != nil {
		if len(*out) >= max {
			return false
		}
		s.emitEvent(st, out)
	}
	return true
}

// rewind starts reading st again from 0 with its current head.
func (s *source) rewind(st *tracked) error {
	st.rewound = false
	st.offset, st.line, st.readOff, st.readLine = 0, 0, 0, 0
	st.buf, st.event, st.fp = st.buf[:0], nil, fingerprint{}
	fi, err := st.f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", st.path, err)
	}
	if size := min(fi.Size(), int64(s.fpBytes)); size > 0 {
		head, err := s.readHead(st.f, size)
		if err != nil {
			return fmt.Errorf("read head of %s: %w", st.path, err)
		}
		st.fp = fingerprintOf(head)
	}
	return nil
}
