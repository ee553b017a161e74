package fileconn

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/sdk"
)

func TestLinesAndHeaders(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	if err := os.WriteFile(path, []byte("one\r\ntwo\n\nfour\npartial"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := openSrc(t, map[string]string{"paths": filepath.Join(dir, "*.log")}, nil, nil)
	recs := readN(t, s, 4)
	want := []struct {
		value        string
		offset, line int
	}{{"one", 0, 1}, {"two", 5, 2}, {"", 9, 3}, {"four", 10, 4}}
	for i, w := range want {
		r := recs[i]
		if string(r.Value) != w.value || header(r, HeaderPath) != path || atoi(header(r, HeaderOffset)) != w.offset || atoi(header(r, HeaderLine)) != w.line {
			t.Errorf("record %d = %q %v, want %q at offset %d line %d", i, r.Value, r.Headers, w.value, w.offset, w.line)
		}
		if r.Timestamp.IsZero() || len(r.Position) == 0 {
			t.Errorf("record %d has no timestamp or position", i)
		}
	}
	// An unterminated line waits for its newline.
	readNone(t, s)
	appendLines(t, path, " end")
	if r := readN(t, s, 1)[0]; string(r.Value) != "partial end" || header(r, HeaderLine) != "5" {
		t.Fatalf("completed line = %q line %s", r.Value, header(r, HeaderLine))
	}
}

func TestStartAtEnd(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old.log")
	appendLines(t, old, "history-1", "history-2")
	s := openSrc(t, map[string]string{"paths": filepath.Join(dir, "*.log"), "start": "end"}, nil, nil)
	readNone(t, s)
	appendLines(t, old, "new-1")
	// A file that appears after the start is read from its beginning.
	appendLines(t, filepath.Join(dir, "later.log"), "later-1", "later-2")
	recs := readN(t, s, 3)
	if got := values(recs); !sameSet(got, []string{"new-1", "later-1", "later-2"}) {
		t.Fatalf("records = %q", got)
	}
	s.Close()
	// start=end applies only without a position: a resumed source goes on
	// from its position, and reads files it did not know from their start.
	appendLines(t, old, "new-2")
	appendLines(t, filepath.Join(dir, "other.log"), "other-1")
	r := openSrc(t, map[string]string{"paths": filepath.Join(dir, "*.log"), "start": "end"}, recs[2].Position, nil)
	if got := values(readN(t, r, 2)); !sameSet(got, []string{"new-2", "other-1"}) {
		t.Fatalf("resumed with start=end: %q", got)
	}
	readNone(t, r)
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return true
}

func TestRotationByRename(t *testing.T) {
	cases := []struct {
		name string
		glob string // relative to the dir
	}{
		{"rotated name matched", "app.log*"},
		{"rotated name not matched", "app.log"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.log")
			appendLines(t, path, numbered("gen1", 0, 5)...)
			s := openSrc(t, map[string]string{"paths": filepath.Join(dir, c.glob)}, nil, nil)
			got := values(readN(t, s, 5))
			if err := os.Rename(path, path+".1"); err != nil {
				t.Fatal(err)
			}
			// A late write to the renamed file, then the new generation.
			appendLines(t, path+".1", numbered("gen1", 5, 8)...)
			appendLines(t, path, numbered("gen2", 0, 4)...)
			got = append(got, values(readN(t, s, 7))...)
			want := append(numbered("gen1", 0, 8), numbered("gen2", 0, 4)...)
			if !sameSet(got, want) {
				t.Fatalf("records = %q\nwant %q", got, want)
			}
			checkFileOrder(t, got)
			readNone(t, s)
			if c.glob == "app.log" {
				// The rotated file, no longer matched and read to its end, is let go.
				deadline := time.Now().Add(2 * time.Second)
				for len(s.files) != 1 && time.Now().Before(deadline) {
					readNone(t, s)
				}
				if len(s.files) != 1 || s.files[0].path != path {
					t.Fatalf("still tracking %d files", len(s.files))
				}
			}
		})
	}
}

// checkFileOrder checks that records of each generation come in order.
func checkFileOrder(t *testing.T, vs []string) {
	t.Helper()
	next := map[string]int{}
	for _, v := range vs {
		gen, n, _ := strings.Cut(v, "-")
		if atoi(n) != next[gen] {
			t.Fatalf("%s came after %s-%d: out of file order in %q", v, gen, next[gen]-1, vs)
		}
		next[gen]++
	}
}

func TestTruncation(t *testing.T) {
	cases := []struct {
		name    string
		rewrite func(t *testing.T, path string)
		want    []string
	}{
		{"truncated then appended", func(t *testing.T, path string) {
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
			appendLines(t, path, "after-0", "after-1")
		}, []string{"after-0", "after-1"}},
		// Rewritten past the old size before the source looked: only the
		// head fingerprint shows it.
		{"rewritten longer", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte(strings.Repeat("rewritten-line-xxxxxxxxxxxxxxxxxx\n", 20)), 0o644); err != nil {
				t.Fatal(err)
			}
		}, strings.Split(strings.Repeat("rewritten-line-xxxxxxxxxxxxxxxxxx ", 20), " ")[:20]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.log")
			appendLines(t, path, numbered("before", 0, 10)...)
			s := openSrc(t, map[string]string{"paths": path}, nil, nil)
			readN(t, s, 10)
			c.rewrite(t, path)
			recs := readN(t, s, len(c.want))
			if joined(values(recs)) != joined(c.want) {
				t.Fatalf("after the rewrite: %q, want %q", values(recs), c.want)
			}
			if header(recs[0], HeaderOffset) != "0" || header(recs[0], HeaderLine) != "1" {
				t.Fatalf("the rewritten file was not read from its start: %v", recs[0].Headers)
			}
			readNone(t, s)
		})
	}
}

func TestCopyIsIgnored(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	lines := numbered(strings.Repeat("x", 40), 0, 10) // well over the 16-byte fingerprint
	appendLines(t, path, lines...)
	s := openSrc(t, map[string]string{"paths": filepath.Join(dir, "*"), "fingerprint.bytes": "16"}, nil, nil)
	readN(t, s, 10)
	b, _ := os.ReadFile(path)
	if err := os.WriteFile(path+".copy", b, 0o644); err != nil {
		t.Fatal(err)
	}
	readNone(t, s)
	readNone(t, s)
	// A young file that merely starts like a tracked one is not a copy.
	if err := os.WriteFile(filepath.Join(dir, "young"), []byte("xxxx\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := values(readN(t, s, 1)); got[0] != "xxxx" {
		t.Fatalf("young file read %q", got)
	}
}

func TestResumeFromEveryPosition(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	appendLines(t, a, numbered("a", 0, 6)...)
	appendLines(t, b, numbered("b", 0, 6)...)
	raw := func() map[string]string { return map[string]string{"paths": filepath.Join(dir, "*.log")} }
	s := openSrc(t, raw(), nil, nil)
	all := readN(t, s, 12)
	s.Close()
	for k := range all {
		r := openSrc(t, raw(), all[k].Position, nil)
		rest := values(readN(t, r, len(all)-k-1))
		if !sameSet(rest, values(all[k+1:])) {
			t.Fatalf("resumed after %q: %q, want %q", all[k].Value, rest, values(all[k+1:]))
		}
		readNone(t, r)
		r.Close()
	}
}

func TestResumeAcrossRotationWhileStopped(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendLines(t, path, numbered("gen1", 0, 5)...)
	s := openSrc(t, map[string]string{"paths": path + "*"}, nil, nil)
	recs := readN(t, s, 3)
	s.Close()
	// While the source is down: more lines, a rename, a new file.
	appendLines(t, path, numbered("gen1", 5, 7)...)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendLines(t, path, numbered("gen2", 0, 3)...)
	r := openSrc(t, map[string]string{"paths": path + "*"}, recs[2].Position, nil)
	got := values(readN(t, r, 7))
	want := append(numbered("gen1", 3, 7), numbered("gen2", 0, 3)...)
	if !sameSet(got, want) {
		t.Fatalf("resumed: %q, want %q", got, want)
	}
	checkFileOrder(t, append([]string{"gen1-0", "gen1-1", "gen1-2"}, got...))
	readNone(t, r)
}

func TestSmallFileFingerprintGrows(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendLines(t, path, "a")
	raw := func() map[string]string { return map[string]string{"paths": path, "fingerprint.bytes": "64"} }
	s := openSrc(t, raw(), nil, nil)
	first := readN(t, s, 1)
	appendLines(t, path, numbered("line", 0, 20)...)
	more := readN(t, s, 20)
	if s.files[0].fp.n != 64 {
		t.Fatalf("fingerprint covers %d bytes, want 64 once the file is long enough", s.files[0].fp.n)
	}
	s.Close()
	// Positions taken while the file was short still resume it.
	for _, pos := range []sdk.Position{first[0].Position, more[9].Position} {
		r := openSrc(t, raw(), pos, nil)
		want := 20
		if string(pos) == string(more[9].Position) {
			want = 10
		}
		if got := readN(t, r, want); string(got[len(got)-1].Value) != "line-19" {
			t.Fatalf("resume read %q", values(got))
		}
		readNone(t, r)
		r.Close()
	}
}

func TestMultiline(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	clock := &manualClock{t: time.Unix(1_700_000_000, 0)}
	s := openSrc(t, map[string]string{"paths": path, "multiline.pattern": `^\d{4}-`, "multiline.max.lines": "3", "multiline.timeout": "1s"}, nil, clock.now)
	appendLines(t, path,
		"  orphan continuation",
		"2024-01 first",
		"  at a",
		"  at b",
		"2024-02 second",
		"  1", "  2", "  3", // three more lines: the max of 3 splits them
		"2024-03 third")
	read := func(n int) []sdk.Record {
		clock.advance(10 * time.Millisecond) // due for a scan
		return readN(t, s, n)
	}
	recs := read(4)
	want := []string{"  orphan continuation", "2024-01 first\n  at a\n  at b", "2024-02 second\n  1\n  2", "  3"}
	if joined(values(recs)) != joined(want) {
		t.Fatalf("events = %q\nwant %q", values(recs), want)
	}
	if header(recs[1], HeaderLine) != "2" || header(recs[2], HeaderLine) != "5" {
		t.Fatalf("first lines of events: %v, %v", recs[1].Headers, recs[2].Headers)
	}
	// The last event waits for a start line or the timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	if got, _ := s.Read(ctx, 10); len(got) != 0 {
		t.Fatalf("emitted %q before the timeout", values(got))
	}
	cancel()
	clock.advance(time.Second)
	if got := read(1); string(got[0].Value) != "2024-03 third" {
		t.Fatalf("after the timeout: %q", values(got))
	}
	// A resume from the last event's position starts after it, and one from
	// an earlier event's re-reads the rest.
	s.Close()
	r := openSrc(t, map[string]string{"paths": path, "multiline.pattern": `^\d{4}-`, "multiline.max.lines": "3"}, recs[1].Position, clock.now)
	clock.advance(10 * time.Millisecond)
	if got := readN(t, r, 2); joined(values(got)) != joined(want[2:]) {
		t.Fatalf("resumed events = %q", values(got))
	}
}

func TestLongLinesAreSplit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendLines(t, path, strings.Repeat("a", 40), "short")
	s := openSrc(t, map[string]string{"paths": path, "line.max.bytes": "16"}, nil, nil)
	got := readN(t, s, 4)
	want := []string{strings.Repeat("a", 16), strings.Repeat("a", 16), strings.Repeat("a", 8), "short"}
	if joined(values(got)) != joined(want) {
		t.Fatalf("split = %q", values(got))
	}
	if header(got[1], HeaderLine) != "1" || header(got[1], HeaderOffset) != "16" || header(got[3], HeaderLine) != "2" {
		t.Fatalf("pieces: %v %v", got[1].Headers, got[3].Headers)
	}
}

func TestBadPositionIsRefused(t *testing.T) {
	s := newSource(nil, time.Now)
	cfg := parse(t, sdk.KindSource, map[string]string{"paths": "/nonexistent/*"})
	for _, pos := range []sdk.Position{{9}, {positionVersion, 5}, encodePosition(nil, []mark{{offset: 1}})[:5]} {
		if err := s.Open(context.Background(), cfg, pos); err == nil {
			t.Errorf("Open accepted position %x", pos)
		}
	}
}

func TestPositionRoundTrip(t *testing.T) {
	cases := [][]mark{
		nil,
		{{fp: fingerprint{hash: 1, n: 256}, id: fileID{1, 2}, offset: 1 << 40, line: 1 << 30}},
		{{fp: fingerprint{hash: ^uint64(0), n: 16}}, {fp: fingerprint{hash: 7, n: 1}, offset: 9, line: 3}},
	}
	for _, marks := range cases {
		got, err := decodePosition(encodePosition(nil, marks))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(marks) {
			t.Fatalf("decoded %d marks, want %d", len(got), len(marks))
		}
		for i := range got {
			if got[i] != marks[i] {
				t.Fatalf("mark %d = %+v, want %+v", i, got[i], marks[i])
			}
		}
	}
}

func FuzzDecodePosition(f *testing.F) {
	f.Add(encodePosition(nil, []mark{{fp: fingerprint{hash: 1, n: 2}, offset: 3, line: 1}}))
	f.Add([]byte{positionVersion, 200})
	f.Fuzz(func(t *testing.T, b []byte) {
		marks, err := decodePosition(b)
		if err != nil {
			return
		}
		// Whatever decodes survives a round trip (varints may be padded in
		// b, so compare the marks, not the bytes).
		again, err := decodePosition(encodePosition(nil, marks))
		if err != nil {
			t.Fatalf("re-encoded %x does not decode: %v", b, err)
		}
		if len(again) != len(marks) {
			t.Fatalf("round trip of %x: %d marks, want %d", b, len(again), len(marks))
		}
		for i := range marks {
			if again[i] != marks[i] {
				t.Fatalf("round trip of %x: mark %d = %+v, want %+v", b, i, again[i], marks[i])
			}
		}
	})
}
