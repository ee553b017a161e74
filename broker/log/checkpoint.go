package log

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// checkpoint is the content of log.checkpoint (see format.go).
type checkpoint struct {
	start    int64 // log start offset
	recovery int64 // every byte below this offset is on disk
	cleaned  int64 // compaction has seen every offset below this
	// indexes, written only by a clean Close, vouches for every segment's
	// index files (see indexSums); nil otherwise. A pointer keeps the struct
	// comparable, and a checkpoint that has them never equals one computed
	// while the log is open, so the first write after Open drops them.
	indexes *indexSums
}

const checkpointHeader = "tributary-log-checkpoint 1"

func (c checkpoint) encode() []byte {
	b := fmt.Appendf(nil, "%s\nstart %d\nrecovery %d\ncleaned %d\n",
		checkpointHeader, c.start, c.recovery, c.cleaned)
	if c.indexes != nil {
		b = appendIndexSums(b, *c.indexes)
	}
	return b
}

// parseCheckpoint decodes a checkpoint; every field must be present once.
func parseCheckpoint(b []byte) (checkpoint, error) {
	var c checkpoint
	sc := bufio.NewScanner(bytes.NewReader(b))
	if !sc.Scan() || sc.Text() != checkpointHeader {
		return c, errors.New("missing header")
	}
	seen := map[string]bool{}
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), " ")
		if ok && key == indexSumsKey {
			if c.indexes == nil {
				c.indexes = &indexSums{}
			}
			if err := parseIndexSumsLine(val, *c.indexes); err != nil {
				return c, fmt.Errorf("bad line %q: %w", sc.Text(), err)
			}
			continue
		}
		n, err := strconv.ParseInt(val, 10, 64)
		if !ok || err != nil || n < 0 || seen[key] {
			return c, fmt.Errorf("bad line %q", sc.Text())
		}
		seen[key] = true
		switch key {
		case "start":
			c.start = n
		case "recovery":
			c.recovery = n
		case "cleaned":
			c.cleaned = n
		default:
			return c, fmt.Errorf("unknown key %q", key)
		}
	}
	if len(seen) != 3 {
		return c, errors.New("missing fields")
	}
	return c, nil
}

// readCheckpoint loads log.checkpoint; ok is false when there is none.
func readCheckpoint(dir string) (c checkpoint, ok bool, err error) {
	path := filepath.Join(dir, checkpointName)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("read %s: %w", path, err)
	}
	if c, err = parseCheckpoint(b); err != nil {
		return c, false, fmt.Errorf("parse %s: %w", path, err)
	}
	return c, true, nil
}

// writeCheckpoint replaces log.checkpoint atomically and durably.
func writeCheckpoint(dir string, c checkpoint) error {
	return writeFileAtomic(filepath.Join(dir, checkpointName), c.encode())
}

// writeFileAtomic writes path through a temp file: write, fsync, rename, fsync
// the folder. Readers see the old content or the new, never a mix.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + tmpExt
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncPath(filepath.Dir(path))
}

// checkpointLocked computes the checkpoint the log's state allows now.
// REQUIRES: mu.
func (l *Log) checkpointLocked() checkpoint {
	return checkpoint{start: l.start.Load(), recovery: l.recoveryPointLocked(), cleaned: l.cleanedTo}
}

// recoveryPointLocked is the offset below which every batch is on disk: the
// flushed end of the first segment that has unflushed bytes.
// REQUIRES: mu.
func (l *Log) recoveryPointLocked() int64 {
	for _, s := range l.list() {
		if s.flushedSize < s.size {
			return s.flushedNext
		}
	}
	return l.end.Load()
}

// saveCheckpoint writes the checkpoint when it differs from the one on disk.
func (l *Log) saveCheckpoint() error {
	l.cpMu.Lock()
	defer l.cpMu.Unlock()
	l.mu.Lock()
	if err := l.checkOpen(); err != nil {
		l.mu.Unlock()
		return err
	}
	cp := l.checkpointLocked()
	l.mu.Unlock()
	if cp == l.onDisk {
		return nil
	}
	if err := writeCheckpoint(l.dir, cp); err != nil {
		return err
	}
	l.onDisk = cp
	return nil
}

// lowerCheckpointLocked rewrites the checkpoint before the log is cut below its
// recovery point, so a crash right after the cut cannot trust data appended
// later in the same place.
// REQUIRES: cpMu and mu.
func (l *Log) lowerCheckpointLocked(recovery, start int64) error {
	cp := l.onDisk
	cp.indexes = nil
	if cp == l.onDisk && cp.recovery <= recovery && cp.start == start {
		return nil
	}
	cp.recovery = min(cp.recovery, recovery)
	cp.start = start
	cp.cleaned = min(l.cleanedTo, recovery)
	if err := writeCheckpoint(l.dir, cp); err != nil {
		return err
	}
	l.onDisk = cp
	return nil
}
