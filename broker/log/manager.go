package log

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// TopicPartition names a partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// String is the folder name: <topic>-<partition>.
func (tp TopicPartition) String() string {
	return tp.Topic + "-" + strconv.FormatInt(int64(tp.Partition), 10)
}

// ParseTopicPartition reads a folder name <topic>-<partition>. Topic names may
// contain '-' and '.', so the partition is what follows the last '-'.
func ParseTopicPartition(name string) (TopicPartition, bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 || i == len(name)-1 {
		return TopicPartition{}, false
	}
	digits := name[i+1:]
	for _, c := range digits {
		if c < '0' || c > '9' {
			return TopicPartition{}, false
		}
	}
	p, err := strconv.ParseInt(digits, 10, 32)
	if err != nil || strconv.FormatInt(p, 10) != digits {
		return TopicPartition{}, false // out of range, or a leading zero that String would not write back
	}
	return TopicPartition{Topic: name[:i], Partition: int32(p)}, true
}

// Manager owns every partition log under one data dir and the background goroutine
// that applies retention, compaction and flush.ms to them.
type Manager struct {
	dir    string
	opts   []Option
	logger *slog.Logger

	mu     sync.Mutex
	logs   map[TopicPartition]*Log     // open logs
	onDisk map[TopicPartition]struct{} // folders found at start, not opened yet
	closed bool

	// The cleaner goroutine: started once by Start, stopped by Close.
	stop    chan struct{}
	done    chan struct{}
	started bool
}

// NewManager creates the data dir if needed and scans it for partition folders.
// Logs are opened by GetOrCreate, with the config the caller's metadata holds.
// Folders left by an interrupted Remove are deleted.
func NewManager(dataDir string, opts ...Option) (*Manager, error) {
	o := buildOptions(opts)
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("log manager: %w", err)
	}
	ents, err := os.ReadDir(dataDir)
	if err != nil {
		return nil, fmt.Errorf("log manager: %w", err)
	}
	m := &Manager{
		dir:    dataDir,
		opts:   opts,
		logger: o.logger,
		logs:   map[TopicPartition]*Log{},
		onDisk: map[TopicPartition]struct{}{},
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		if strings.HasSuffix(e.Name(), deletedSuffix) {
			if err := os.RemoveAll(filepath.Join(dataDir, e.Name())); err != nil {
				return nil, fmt.Errorf("log manager: finish removing %s: %w", e.Name(), err)
			}
			continue
		}
		if tp, ok := ParseTopicPartition(e.Name()); ok {
			m.onDisk[tp] = struct{}{}
		}
	}
	return m, nil
}

// Start starts the background cleaner; it runs every interval until Close.
// Later calls do nothing.
func (m *Manager) Start(interval time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.started || m.closed {
		return
	}
	m.started = true
	go m.run(interval)
}

// run is the cleaner goroutine: one maintenance pass over every log per tick.
func (m *Manager) run(interval time.Duration) {
	defer close(m.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
		m.maintain()
	}
}

// maintain runs one pass over the open logs; a slow log delays the others
// until the next tick, never stops them.
func (m *Manager) maintain() {
	m.mu.Lock()
	logs := make([]*Log, 0, len(m.logs))
	for _, l := range m.logs {
		logs = append(logs, l)
	}
	m.mu.Unlock()
	for _, l := range logs {
		select {
		case <-m.stop:
			return
		default:
		}
		if err := l.maintain(); err != nil && !errors.Is(err, ErrClosed) {
			m.logger.Error("log maintenance failed", "log", l.Dir(), "err", err)
		}
	}
}

// Get returns an open log.
func (m *Manager) Get(tp TopicPartition) (*Log, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.logs[tp]
	return l, ok
}

// GetOrCreate opens or creates the log of tp with cfg. An already open log is
// returned as it is; change its config with SetConfig.
func (m *Manager) GetOrCreate(tp TopicPartition, cfg Config) (*Log, error) {
	if tp.Topic == "" || tp.Partition < 0 || strings.ContainsAny(tp.Topic, `/\`) || tp.Topic == "." || tp.Topic == ".." {
		return nil, fmt.Errorf("log manager: invalid partition %q", tp.String())
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	if l, ok := m.logs[tp]; ok {
		return l, nil
	}
	l, err := Open(filepath.Join(m.dir, tp.String()), cfg, m.opts...)
	if err != nil {
		return nil, err
	}
	m.logs[tp] = l
	delete(m.onDisk, tp)
	return l, nil
}

// Partitions lists the partitions found on disk or created, open or not, sorted.
func (m *Manager) Partitions() []TopicPartition {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]TopicPartition, 0, len(m.logs)+len(m.onDisk))
	for tp := range m.logs {
		out = append(out, tp)
	}
	for tp := range m.onDisk {
		out = append(out, tp)
	}
	slices.SortFunc(out, func(a, b TopicPartition) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return int(a.Partition) - int(b.Partition)
	})
	return out
}

// Remove deletes a partition's log and folder. Removing an unknown partition
// is not an error.
func (m *Manager) Remove(tp TopicPartition) error {
	m.mu.Lock()
	l, open := m.logs[tp]
	_, found := m.onDisk[tp]
	delete(m.logs, tp)
	delete(m.onDisk, tp)
	m.mu.Unlock()
	switch {
	case open:
		return l.Delete()
	case found:
		return removeDir(filepath.Join(m.dir, tp.String()))
	}
	return nil
}

// StraySuffix ends the name of a partition folder that SetAside moved out of
// the way. Such folders are never opened or deleted by the broker.
const StraySuffix = "-stray"

// SetAside closes a partition's log, if open, and renames its folder to
// <topic>-<partition>.<n>-stray so the broker no longer sees it, keeping the
// data for an operator to inspect or restore. It is what a node does with a
// partition folder its metadata does not know: the metadata may be the thing
// that was lost, so the data is never deleted on that evidence alone. It
// returns the new folder name; an unknown partition is not an error ("").
func (m *Manager) SetAside(tp TopicPartition) (string, error) {
	m.mu.Lock()
	l, open := m.logs[tp]
	_, found := m.onDisk[tp]
	delete(m.logs, tp)
	delete(m.onDisk, tp)
	m.mu.Unlock()
	if !open && !found {
		return "", nil
	}
	if open {
		if err := l.Close(); err != nil {
			return "", fmt.Errorf("set aside %s: %w", tp, err)
		}
	}
	dir := filepath.Join(m.dir, tp.String())
	// The wall clock only makes the name unique; nothing reads it back.
	aside := fmt.Sprintf("%s.%d%s", dir, time.Now().UnixNano(), StraySuffix)
	if err := os.Rename(dir, aside); err != nil {
		return "", fmt.Errorf("set aside %s: %w", tp, err)
	}
	if err := syncPath(m.dir); err != nil {
		return "", fmt.Errorf("set aside %s: %w", tp, err)
	}
	return aside, nil
}

// Close stops the cleaner, waits for it, and closes every log. A compaction
// pass under way gives up at its next batch.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	started := m.started
	logs := make([]*Log, 0, len(m.logs))
	for _, l := range m.logs {
		logs = append(logs, l)
		l.stopping.Store(true)
	}
	m.mu.Unlock()
	close(m.stop)
	if started {
		<-m.done
	}
	var errs []error
	for _, l := range logs {
		if err := l.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
