package log

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Log is one partition's log in one folder.
//
// Locks, always taken in this order: cleanMu (one retention or compaction pass
// at a time), flushMu (one flush at a time), cpMu (one checkpoint writer at a
// time), mu (appends and every change of the segment list), then a segment's mu.
// Reads take no Log lock: they load the segment list snapshot and the atomic
// offsets, then hold a segment's mu only while looking at its index.
type Log struct {
	dir    string
	now    func() time.Time
	logger *slog.Logger

	cfg atomic.Pointer[Config]

	cleanMu sync.Mutex
	flushMu sync.Mutex
	cpMu    sync.Mutex
	mu      sync.Mutex

	// segs is the segment list, oldest first; the last one is active. It is
	// replaced (never modified) under mu, and read without locks.
	segs  atomic.Pointer[[]*segment]
	start atomic.Int64 // log start offset
	end   atomic.Int64 // log end offset, stored after the data it covers

	closed   atomic.Bool // set once Close has released the files
	stopping atomic.Bool // set when Close begins; long passes give up

	// gen is bumped (under mu) whenever segments are deleted, truncated or
	// replaced; atomic so a read can tell that its view went stale.
	gen atomic.Uint64

	// Owned by mu.
	unflushedMsg int64 // records appended since the last fsync
	lastFlush    time.Time
	dirDirty     bool  // segment files created since the folder's last fsync
	failed       error // a write that could not be undone; the log refuses appends
	cleanedTo    int64 // compaction has seen every offset below this
	// tombstoneAt is the earliest time (unix ms) a tombstone kept by the last
	// compaction pass may be removed, or 0.
	tombstoneAt int64

	// Owned by cpMu: what log.checkpoint holds.
	onDisk checkpoint

	// scannedOnOpen counts the bytes recovery read and checked on Open.
	scannedOnOpen int64

	// testHook, when set by a test, can fail an operation at a named point
	// (see hook); nil in production.
	testHook func(point string) error
}

func buildOptions(opts []Option) options {
	o := options{now: time.Now, logger: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	return o
}

// checkConfig fills defaults and validates.
func checkConfig(cfg Config) (Config, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("log config: %w", err)
	}
	return cfg, nil
}

// Open opens (creating if needed) the log in dir and recovers it: missing or
// damaged index files are rebuilt, and the tail of the last segment after the last
// whole CRC-valid batch is truncated.
func Open(dir string, cfg Config, opts ...Option) (*Log, error) {
	cfg, err := checkConfig(cfg)
	if err != nil {
		return nil, err
	}
	o := buildOptions(opts)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	l := &Log{dir: dir, now: o.now, logger: o.logger.With("log", filepath.Base(dir))}
	l.cfg.Store(&cfg)
	if err := l.recover(); err != nil {
		return nil, fmt.Errorf("open log %s: %w", dir, err)
	}
	l.lastFlush = l.now()
	return l, nil
}

// list returns the current segment list; callers must not modify it.
func (l *Log) list() []*segment { return *l.segs.Load() }

// publish replaces the segment list. REQUIRES: mu (or no sharing yet).
func (l *Log) publish(segs []*segment) { l.segs.Store(&segs) }

// active returns the segment appends go to. REQUIRES: mu.
func (l *Log) active() *segment {
	segs := l.list()
	return segs[len(segs)-1]
}

// StartOffset is the log start offset (the earliest readable offset).
func (l *Log) StartOffset() int64 { return l.start.Load() }

// EndOffset is the log end offset: the offset the next record will get.
func (l *Log) EndOffset() int64 { return l.end.Load() }

// SetConfig changes the log's config at run time (AlterConfigs). Defaults fill
// zero fields; an invalid config is rejected and the old one kept.
func (l *Log) SetConfig(cfg Config) error {
	cfg, err := checkConfig(cfg)
	if err != nil {
		return err
	}
	l.cfg.Store(&cfg)
	return nil
}

// Config returns the current config.
func (l *Log) Config() Config { return *l.cfg.Load() }

// Size is the total bytes of all segments.
func (l *Log) Size() int64 {
	var n int64
	for _, s := range l.list() {
		s.mu.RLock()
		n += s.size
		s.mu.RUnlock()
	}
	return n
}

// NumSegments is the number of segments.
func (l *Log) NumSegments() int { return len(l.list()) }

// Dir is the log's folder.
func (l *Log) Dir() string { return l.dir }

// Close flushes and closes the log: every segment and index is fsynced and the
// checkpoint records the end offset as the recovery point, so the next Open
// scans almost nothing. Reads still holding a ReadResult keep their files open
// until they release it. Closing twice is a no-op.
func (l *Log) Close() error {
	l.stopping.Store(true)
	l.cleanMu.Lock()
	defer l.cleanMu.Unlock()
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.cpMu.Lock()
	defer l.cpMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() {
		return nil
	}
	var errs []error
	segs := l.list()
	l.active().mu.Lock()
	l.active().addTimeEntryLocked()
	l.active().mu.Unlock()
	if err := l.flushLocked(true); err != nil {
		errs = append(errs, err)
	} else {
		cp := l.checkpointLocked()
		sums := make(indexSums, len(segs))
		for _, s := range segs {
			sums[s.base] = sumsOf(s)
		}
		cp.indexes = &sums
		if err := writeCheckpoint(l.dir, cp); err != nil {
			errs = append(errs, err)
		} else {
			l.onDisk = cp
		}
	}
	l.closed.Store(true)
	for _, s := range segs {
		s.file.release()
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close log %s: %w", l.dir, err)
	}
	return nil
}

// Delete closes the log and removes its folder. The folder is first renamed
// out of the way, so a crash during removal never leaves a half-deleted log
// that would be opened again.
func (l *Log) Delete() error {
	cerr := l.Close()
	if err := removeDir(l.dir); err != nil {
		return errors.Join(cerr, err)
	}
	return nil
}

// removeDir renames dir to a name the Manager ignores, then removes it.
func removeDir(dir string) error {
	// The wall clock only makes the name unique; nothing reads it back.
	gone := fmt.Sprintf("%s.%d%s", dir, time.Now().UnixNano(), deletedSuffix)
	if err := os.Rename(dir, gone); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("delete log %s: %w", dir, err)
	}
	if err := syncPath(filepath.Dir(dir)); err != nil {
		return fmt.Errorf("delete log %s: %w", dir, err)
	}
	if err := os.RemoveAll(gone); err != nil {
		return fmt.Errorf("delete log %s: %w", dir, err)
	}
	return nil
}

// checkOpen reports ErrClosed, or the write failure that disabled appends.
// REQUIRES: mu.
func (l *Log) checkOpen() error {
	if l.closed.Load() {
		return ErrClosed
	}
	return l.failed
}
