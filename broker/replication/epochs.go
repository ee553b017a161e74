package replication

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/tributary-io/tributary/broker/log"
	"github.com/tributary-io/tributary/broker/record"
)

// epochFileName is the leader-epoch checkpoint inside a partition folder:
// "tributary-leader-epochs 1", then one "<epoch> <start offset>" line per
// leader epoch that wrote to the log, oldest first.
const epochFileName = "leader-epoch-checkpoint"

// epochEntry says that the records from Start on were written by leaders of Epoch
// (until the next entry's Start).
type epochEntry struct {
	Epoch int32
	Start int64
}

// epochCache is a partition's leader-epoch history (KIP-101): it answers
// OffsetForLeaderEpoch and drives a follower's truncation. Entries are kept in
// memory and written to the checkpoint file whenever they change, which is
// rare (once per leader election that writes).
type epochCache struct {
	path    string
	mu      sync.Mutex
	entries []epochEntry
}

// loadEpochs reads the checkpoint of l, or rebuilds it by scanning the batch
// headers when it is missing or damaged; entries past the log end are dropped
// (a crash can leave the checkpoint ahead of a truncated log).
func loadEpochs(l *log.Log) (*epochCache, error) {
	c := &epochCache{path: filepath.Join(l.Dir(), epochFileName)}
	entries, err := readEpochFile(c.path)
	if err != nil {
		entries, err = scanEpochs(l)
		if err != nil {
			return nil, err
		}
		c.entries = entries
		if err := c.persistLocked(); err != nil {
			return nil, err
		}
		return c, nil
	}
	c.entries = entries
	end := l.EndOffset()
	if n := len(c.entries); n > 0 && c.entries[n-1].Start >= end && end > l.StartOffset() {
		c.truncateLocked(end)
	}
	return c, nil
}

func readEpochFile(path string) ([]epochEntry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	if !sc.Scan() || sc.Text() != "tributary-leader-epochs 1" {
		return nil, errors.New("not a leader-epoch checkpoint")
	}
	var out []epochEntry
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			return nil, fmt.Errorf("bad line %q", sc.Text())
		}
		e, err1 := strconv.ParseInt(f[0], 10, 32)
		s, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("bad line %q", sc.Text())
		}
		out = append(out, epochEntry{Epoch: int32(e), Start: s})
	}
	return out, nil
}

// scanEpochs rebuilds the history from the batches' partitionLeaderEpoch.
func scanEpochs(l *log.Log) ([]epochEntry, error) {
	var out []epochEntry
	off := l.StartOffset()
	var buf []byte
	for off < l.EndOffset() {
		rr, err := l.Read(off, 4<<20, l.EndOffset(), true)
		if err != nil {
			return nil, fmt.Errorf("scan leader epochs of %s: %w", l.Dir(), err)
		}
		buf, err = rr.AppendBytes(buf[:0])
		next := rr.NextOffset
		rr.Release()
		if err != nil {
			return nil, fmt.Errorf("scan leader epochs of %s: %w", l.Dir(), err)
		}
		for rest := buf; len(rest) >= record.HeaderSize; {
			var h record.Header
			_, rest, h, err = record.Next(rest)
			if err != nil {
				break
			}
			if n := len(out); n == 0 || h.PartitionLeaderEpoch > out[n-1].Epoch {
				out = append(out, epochEntry{Epoch: h.PartitionLeaderEpoch, Start: h.BaseOffset})
			}
		}
		if next <= off {
			break
		}
		off = next
	}
	return out, nil
}

// assign records that epoch starts at start, if it is newer than the last one.
func (c *epochCache) assign(epoch int32, start int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := len(c.entries); n > 0 && c.entries[n-1].Epoch >= epoch {
		return nil
	}
	c.entries = append(c.entries, epochEntry{Epoch: epoch, Start: start})
	return c.persistLocked()
}

// latest is the newest epoch, or -1.
func (c *epochCache) latest() int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) == 0 {
		return -1
	}
	return c.entries[len(c.entries)-1].Epoch
}

// endOffsetFor answers OffsetForLeaderEpoch: the largest epoch at or below
// epoch and the offset where it ended (the next epoch's start, or logEnd for the
// latest). (-1, -1) when the history starts after epoch.
func (c *epochCache) endOffsetFor(epoch int32, logEnd int64) (int32, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.entries) - 1; i >= 0; i-- {
		if c.entries[i].Epoch <= epoch {
			if i == len(c.entries)-1 {
				return c.entries[i].Epoch, logEnd
			}
			return c.entries[i].Epoch, c.entries[i+1].Start
		}
	}
	return -1, -1
}

// truncate drops the history at and after offset (the log was truncated there).
func (c *epochCache) truncate(offset int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.truncateLocked(offset)
}

func (c *epochCache) truncateLocked(offset int64) error {
	n := len(c.entries)
	for n > 0 && c.entries[n-1].Start >= offset {
		n--
	}
	if n == len(c.entries) {
		return nil
	}
	c.entries = c.entries[:n]
	return c.persistLocked()
}

func (c *epochCache) persistLocked() error {
	var b strings.Builder
	b.WriteString("tributary-leader-epochs 1\n")
	for _, e := range c.entries {
		fmt.Fprintf(&b, "%d %d\n", e.Epoch, e.Start)
	}
	tmp := c.path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, c.path); err != nil {
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	return nil
}
