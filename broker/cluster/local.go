package cluster

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
)

// defaultCompactBytes is how large commands.log may grow before it is folded
// into snapshot.json. Commands are a few hundred bytes, so this is thousands of them.
const defaultCompactBytes = 1 << 20

// LocalOption configures OpenLocalWith.
type LocalOption func(*localOptions)

type localOptions struct {
	logger       *slog.Logger
	random       io.Reader
	compactBytes int64
}

// WithLocalLogger sets where Local reports problems it recovers from (a failed
// compaction). Default slog.Default().
func WithLocalLogger(l *slog.Logger) LocalOption { return func(o *localOptions) { o.logger = l } }

// WithRandom sets the source of topic ids. Default crypto/rand.
func WithRandom(r io.Reader) LocalOption { return func(o *localOptions) { o.random = r } }

// WithCompactBytes sets the command log size that triggers a compaction into
// snapshot.json. Default 1 MiB.
func WithCompactBytes(n int64) LocalOption { return func(o *localOptions) { o.compactBytes = n } }

// Local is the single-node metadata driver: it applies commands to the state
// machine and persists them under dir, so metadata survives restarts.
//
// Every change goes through propose, under mu: check the command against the
// state, append it to commands.log and fsync, install the new snapshot, call the
// subscribers in order. Readers use Snapshot, which never locks.
type Local struct {
	dir  string
	self int32
	opts localOptions
	meta *Metadata

	mu      sync.Mutex // serializes changes, the log file and subscriber calls
	file    *os.File   // commands.log, append-only
	logLen  int64      // bytes of whole entries in file
	subs    []func(*Snapshot)
	closed  bool
	failure error // set when a write failed and could not be undone
}

// OpenLocal loads (or creates) the metadata in dir for node self. The broker
// registers itself with RegisterBroker once its listeners are bound.
func OpenLocal(dir string, self int32, clusterID string) (*Local, error) {
	return OpenLocalWith(dir, self, clusterID)
}

// OpenLocalWith is OpenLocal with options. It loads dir/snapshot.json when present,
// replays dir/commands.log over it (ignoring a torn last line), and compacts the
// log into a new snapshot when it has grown. An empty clusterID takes the stored one;
// a different non-empty one is an error, as a data dir belongs to one cluster.
func OpenLocalWith(dir string, self int32, clusterID string, opts ...LocalOption) (*Local, error) {
	o := localOptions{logger: slog.Default(), random: rand.Reader, compactBytes: defaultCompactBytes}
	for _, opt := range opts {
		opt(&o)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open metadata: %w", err)
	}
	snap, err := readOptional(filepath.Join(dir, snapshotFileName))
	if err != nil {
		return nil, fmt.Errorf("open metadata: %w", err)
	}
	logPath := filepath.Join(dir, commandLogFileName)
	commands, err := readOptional(logPath)
	if err != nil {
		return nil, fmt.Errorf("open metadata: %w", err)
	}
	res, err := load(snap, commands, clusterID, self)
	if err != nil {
		return nil, fmt.Errorf("open metadata in %s: %w", dir, err)
	}
	f, err := os.OpenFile(logPath, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open metadata: %w", err)
	}
	l := &Local{dir: dir, self: self, opts: o, meta: res.meta, file: f, logLen: res.logLen}
	if int64(len(commands)) != res.logLen {
		// Cut the torn tail so the next entry starts on a fresh line.
		if err := l.truncateLog(res.logLen); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("open metadata: drop torn command: %w", err)
		}
	}
	// A first start writes a snapshot at once, so the cluster id is kept even
	// before any command; a long log is folded in.
	if snap == nil || res.logLen >= o.compactBytes {
		if err := l.compact(); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("open metadata: %w", err)
		}
	}
	return l, nil
}

// Snapshot returns the current immutable view.
func (l *Local) Snapshot() *Snapshot { return l.meta.Snapshot() }

// Subscribe calls fn with the current snapshot, and again after every change, on
// the applying goroutine, in order. fn must not call back into Local.
func (l *Local) Subscribe(fn func(*Snapshot)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fn(l.meta.Snapshot())
	l.subs = append(l.subs, fn)
}

// propose makes cmd durable and applies it, or only checks it when validateOnly.
// The caller holds mu.
func (l *Local) propose(cmd Command, validateOnly bool) (*Snapshot, error) {
	if l.closed {
		return nil, ErrClosed
	}
	if l.failure != nil {
		return nil, fmt.Errorf("%w: %w", ErrClosed, l.failure)
	}
	next, err := l.meta.next(cmd)
	if err != nil || validateOnly {
		return next, err
	}
	line, err := encodeEntry(next.Version, cmd)
	if err != nil {
		return nil, err
	}
	if err := l.appendLog(line); err != nil {
		return nil, err
	}
	l.meta.Restore(next)
	for _, fn := range l.subs {
		fn(next)
	}
	if l.logLen >= l.opts.compactBytes {
		// The command is durable in the log already; a failed compaction only
		// means a longer replay, and is retried after the next command.
		if err := l.compact(); err != nil {
			l.opts.logger.Warn("metadata compaction failed", "dir", l.dir, "err", err)
		}
	}
	return next, nil
}

// appendLog writes one entry and fsyncs it. On failure it cuts the log back to its
// previous length, so a half-written entry never sits before the next one; if even
// that fails, the driver refuses further changes rather than risk a damaged log.
func (l *Local) appendLog(line []byte) error {
	_, err := l.file.Write(line)
	if err == nil {
		err = l.file.Sync()
	}
	if err == nil {
		l.logLen += int64(len(line))
		return nil
	}
	err = fmt.Errorf("append to %s: %w", l.file.Name(), err)
	if terr := l.truncateLog(l.logLen); terr != nil {
		l.failure = errors.Join(err, terr)
		return l.failure
	}
	return err
}

func (l *Local) truncateLog(n int64) error {
	if err := l.file.Truncate(n); err != nil {
		return fmt.Errorf("truncate %s to %d: %w", l.file.Name(), n, err)
	}
	if err := l.file.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", l.file.Name(), err)
	}
	l.logLen = n
	return nil
}

// compact writes the current state to snapshot.json and empties the command log.
// A crash between the two leaves entries the snapshot covers; load skips them by
// version.
func (l *Local) compact() error {
	b, err := MarshalSnapshot(l.meta.Snapshot())
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(l.dir, snapshotFileName), b); err != nil {
		return fmt.Errorf("compact metadata: %w", err)
	}
	if err := l.truncateLog(0); err != nil {
		return fmt.Errorf("compact metadata: %w", err)
	}
	return nil
}

// Close releases files. Changes after Close fail with ErrClosed.
func (l *Local) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	if err := l.file.Close(); err != nil {
		return fmt.Errorf("close %s: %w", l.file.Name(), err)
	}
	return nil
}
