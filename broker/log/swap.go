package log

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
)

const swapHeader = "tributary-swap 1"

// swapLocked replaces each group of segments whose output is not nil with it:
// it writes the .swap commit record, renames the .cleaned files into place,
// deletes the other segments of each group, fsyncs the folder, removes the
// record, then publishes the new segment list (see format.go).
// REQUIRES: mu.
func (l *Log) swapLocked(groups [][]candidate, outs []*segment) error {
	var manifest []byte
	manifest = append(manifest, swapHeader...)
	manifest = append(manifest, '\n')
	first := int64(-1)
	for i, g := range groups {
		if outs[i] == nil {
			continue
		}
		if first < 0 {
			first = g[0].s.base
		}
		for j, c := range g {
			if j > 0 {
				manifest = append(manifest, ' ')
			}
			manifest = strconv.AppendInt(manifest, c.s.base, 10)
		}
		manifest = append(manifest, '\n')
	}
	if first < 0 {
		return nil // nothing to replace
	}
	if err := l.hook("before-commit"); err != nil {
		return err
	}
	swapPath := segmentPath(l.dir, first, swapExt)
	if err := writeFileAtomic(swapPath, manifest); err != nil {
		for i, out := range outs {
			if out != nil {
				out.file.release()
				removeCleaned(l.dir, groups[i][0].s.base)
			}
		}
		return err
	}
	// Committed: from here on a failure leaves the swap for the next Open to
	// finish, and the log refuses appends until then.
	if err := l.hook("committed"); err != nil {
		return err
	}
	err := applySwap(l.dir, manifest, l.hook)
	var crash hookError
	if errors.As(err, &crash) {
		return err
	}
	if err == nil {
		err = os.Remove(swapPath)
	}
	if err != nil {
		l.failed = fmt.Errorf("finish compaction swap %s (reopen the log to complete it): %w", swapPath, err)
		l.logger.Error("log disabled", "err", l.failed)
	}

	replaced := map[*segment]*segment{} // first segment of a group → its output
	gone := map[*segment]bool{}
	for i, g := range groups {
		if outs[i] == nil {
			continue
		}
		replaced[g[0].s] = outs[i]
		for _, c := range g {
			gone[c.s] = true
		}
	}
	old := l.list()
	next := make([]*segment, 0, len(old))
	for _, s := range old {
		if out, ok := replaced[s]; ok {
			next = append(next, out)
		}
		if !gone[s] {
			next = append(next, s)
		}
	}
	l.publish(next)
	l.gen.Add(1)
	for s := range gone {
		s.file.release()
	}
	return err
}

// applySwap carries out a committed swap record; every step may already have
// been done by an interrupted earlier attempt.
func applySwap(dir string, manifest []byte, hook func(string) error) error {
	groups, err := parseSwap(manifest)
	if err != nil {
		return err
	}
	for _, g := range groups {
		base := g[0]
		for _, ext := range segmentExts {
			final := segmentPath(dir, base, ext)
			if err := os.Rename(final+cleanedExt, final); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("swap in %s: %w", final, err)
			}
		}
		if err := hook("renamed"); err != nil {
			return err
		}
		for _, b := range g[1:] {
			if err := removeSegmentFiles(dir, b); err != nil {
				return fmt.Errorf("swap out segment %d: %w", b, err)
			}
		}
	}
	return syncPath(dir)
}

// parseSwap decodes a swap record into groups of base offsets.
func parseSwap(b []byte) ([][]int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	if !sc.Scan() || sc.Text() != swapHeader {
		return nil, errors.New("swap record: missing header")
	}
	var groups [][]int64
	for sc.Scan() {
		var g []int64
		for _, f := range strings.Fields(sc.Text()) {
			n, err := strconv.ParseInt(f, 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("swap record: bad base offset %q", f)
			}
			g = append(g, n)
		}
		if len(g) == 0 {
			return nil, errors.New("swap record: empty group")
		}
		groups = append(groups, g)
	}
	return groups, nil
}

// completeSwaps finishes every committed compaction swap found in dir.
func completeSwaps(dir string, logger *slog.Logger) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("list %s: %w", dir, err)
	}
	for _, e := range ents {
		if _, ok := parseSegmentName(e.Name(), swapExt); !ok {
			continue
		}
		path := dir + string(os.PathSeparator) + e.Name()
		manifest, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		logger.Info("completing an interrupted compaction swap", "record", path)
		if err := applySwap(dir, manifest, func(string) error { return nil }); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("remove %s: %w", path, err)
		}
	}
	return nil
}

// hookError is a failure injected by a test at a named point; the operation
// stops there as if the process had crashed.
type hookError struct{ error }

func (e hookError) Unwrap() error { return e.error }

// hook calls the test hook, if any.
func (l *Log) hook(point string) error {
	if l.testHook == nil {
		return nil
	}
	if err := l.testHook(point); err != nil {
		return hookError{err}
	}
	return nil
}
