package streams

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// diskBackend keeps values in an append-only file and keys (with the file
// position of their value) in memory, like bitcask. Writes collect in
// pending until there are many or the task commits; commit appends them,
// syncs and writes the checkpoint: the changelog offset the file reflects.
// dirty removes the checkpoint when processing starts, so a crash in the
// middle of a transaction leaves no checkpoint and the next owner restores
// the whole changelog instead of trusting half-written state.
type diskBackend struct {
	dir string
	f   *os.File
	end int64 // size of the data file
	// written is set by a put after the last commit.
	written bool
	index   map[string]valueLoc
	keys    []string // sorted, live keys
	pending map[string][]byte
	cp      int64
	hasCP   bool
}

type valueLoc struct{ off, n int64 }

const (
	dataFile       = "data.log"
	checkpointFile = "checkpoint"
	// pendingLimit bounds the writes held in memory between commits.
	pendingLimit = 10_000
)

func diskStorePath(stateDir, appID string, id taskID, store string) string {
	return filepath.Join(stateDir, appID, id.String(), store)
}

func openDiskBackend(dir string) (*diskBackend, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store dir: %w", err)
	}
	b := &diskBackend{dir: dir, index: map[string]valueLoc{}, pending: map[string][]byte{}}
	cp, err := os.ReadFile(filepath.Join(dir, checkpointFile))
	switch {
	case err == nil:
		off, perr := strconv.ParseInt(strings.TrimSpace(string(cp)), 10, 64)
		if perr == nil {
			b.cp, b.hasCP = off, true
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	flags := os.O_RDWR | os.O_CREATE
	if !b.hasCP {
		flags |= os.O_TRUNC // no clean checkpoint: the contents are not trusted
	}
	if b.f, err = os.OpenFile(filepath.Join(dir, dataFile), flags, 0o644); err != nil {
		return nil, fmt.Errorf("open store data: %w", err)
	}
	if err := b.load(); err != nil {
		b.f.Close()
		return nil, err
	}
	return b, nil
}

// load rebuilds the index from the data file; a torn tail (a crash while
// appending, after the checkpoint was removed) cannot happen with a
// checkpoint present, so any decode error is reported.
func (b *diskBackend) load() error {
	r := bufio.NewReader(io.NewSectionReader(b.f, 0, 1<<62))
	var pos int64
	for {
		klen, err := binary.ReadUvarint(r)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("store data at %d: %w", pos, err)
		}
		key := make([]byte, klen)
		if _, err := io.ReadFull(r, key); err != nil {
			return fmt.Errorf("store data at %d: %w", pos, err)
		}
		vlen, err := binary.ReadUvarint(r)
		if err != nil {
			return fmt.Errorf("store data at %d: %w", pos, err)
		}
		head := int64(uvarintLen(klen)) + int64(klen) + int64(uvarintLen(vlen))
		if vlen == 0 {
			b.setIndex(string(key), valueLoc{}, false)
			pos += head
			continue
		}
		if _, err := r.Discard(int(vlen - 1)); err != nil {
			return fmt.Errorf("store data at %d: %w", pos, err)
		}
		b.setIndex(string(key), valueLoc{off: pos + head, n: int64(vlen - 1)}, true)
		pos += head + int64(vlen-1)
	}
	b.end = pos
	return nil
}

func uvarintLen(v uint64) int { return len(binary.AppendUvarint(nil, v)) }

func (b *diskBackend) setIndex(k string, loc valueLoc, live bool) {
	_, had := b.index[k]
	if !live {
		if had {
			delete(b.index, k)
			i := sort.SearchStrings(b.keys, k)
			b.keys = append(b.keys[:i], b.keys[i+1:]...)
		}
		return
	}
	b.index[k] = loc
	if !had {
		i := sort.SearchStrings(b.keys, k)
		b.keys = append(b.keys, "")
		copy(b.keys[i+1:], b.keys[i:])
		b.keys[i] = k
	}
}

func (b *diskBackend) get(k string) ([]byte, bool) {
	if v, ok := b.pending[k]; ok {
		return v, v != nil
	}
	loc, ok := b.index[k]
	if !ok {
		return nil, false
	}
	v := make([]byte, loc.n)
	if _, err := b.f.ReadAt(v, loc.off); err != nil {
		return nil, false
	}
	return v, true
}

func (b *diskBackend) put(k string, v []byte) error {
	b.pending[k] = v
	b.written = true
	// Keep the key order current for scans; the index entry for a
	// pending key only matters for its presence in keys.
	_, had := b.index[k]
	switch {
	case v == nil && had:
		b.setIndex(k, valueLoc{}, false)
	case v != nil && !had:
		b.setIndex(k, valueLoc{off: -1}, true)
	}
	if len(b.pending) >= pendingLimit {
		return b.writePending()
	}
	return nil
}

// writePending appends the pending writes to the data file.
func (b *diskBackend) writePending() error {
	if len(b.pending) == 0 {
		return nil
	}
	var buf []byte
	type placed struct {
		k   string
		loc valueLoc
	}
	var locs []placed
	pos := b.end
	for k, v := range b.pending {
		start := len(buf)
		buf = binary.AppendUvarint(buf, uint64(len(k)))
		buf = append(buf, k...)
		if v == nil {
			buf = binary.AppendUvarint(buf, 0)
		} else {
			buf = binary.AppendUvarint(buf, uint64(len(v))+1)
			locs = append(locs, placed{k, valueLoc{off: pos + int64(len(buf)-start), n: int64(len(v))}})
			buf = append(buf, v...)
		}
		pos += int64(len(buf) - start)
	}
	if _, err := b.f.WriteAt(buf, b.end); err != nil {
		return fmt.Errorf("append store data: %w", err)
	}
	b.end = pos
	for _, p := range locs {
		b.index[p.k] = p.loc
	}
	clear(b.pending)
	return nil
}

func (b *diskBackend) scan(from, to string, fn func(k string, v []byte) bool) {
	for i := sort.SearchStrings(b.keys, from); i < len(b.keys); i++ {
		k := b.keys[i]
		if to != "" && k >= to {
			return
		}
		v, ok := b.get(k)
		if ok && !fn(k, v) {
			return
		}
	}
}

func (b *diskBackend) size() int { return len(b.keys) }

func (b *diskBackend) checkpoint() (int64, bool) { return b.cp, b.hasCP }

func (b *diskBackend) commit(offset int64) error {
	if err := b.writePending(); err != nil {
		return err
	}
	if err := b.f.Sync(); err != nil {
		return fmt.Errorf("sync store data: %w", err)
	}
	b.cp, b.hasCP = offset, true
	b.written = false
	return nil
}

// dirty removes the checkpoint file: from now on the file may hold writes
// of a transaction that never commits.
func (b *diskBackend) dirty() error {
	err := os.Remove(filepath.Join(b.dir, checkpointFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove checkpoint: %w", err)
	}
	return nil
}

// close writes the checkpoint of the last commit, when the contents match
// it (no write since), and closes the file.
func (b *diskBackend) close() error {
	var err error
	if b.hasCP && !b.written {
		tmp := filepath.Join(b.dir, checkpointFile+".tmp")
		err = os.WriteFile(tmp, []byte(strconv.FormatInt(b.cp, 10)), 0o644)
		if err == nil {
			err = os.Rename(tmp, filepath.Join(b.dir, checkpointFile))
		}
	}
	if cerr := b.f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (b *diskBackend) destroy() error {
	b.f.Close()
	return os.RemoveAll(b.dir)
}
