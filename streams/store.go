package streams

import (
	"encoding/binary"
	"sort"
	"sync/atomic"
)

// backend holds a store's bytes: keys in byte order and their values. The
// in-memory backend keeps everything in maps; the on-disk one keeps values
// in a file. A backend is owned by one task and not safe for concurrent use;
// interactive queries reach it under the App's lock.
type backend interface {
	get(k string) ([]byte, bool)
	// put sets k to v; a nil v deletes k.
	put(k string, v []byte) error
	// scan calls fn for each key in [from, to) in byte order, until fn
	// returns false; an empty to means no upper bound.
	scan(from, to string, fn func(k string, v []byte) bool)
	size() int
	// checkpoint returns the changelog offset the backend's contents
	// reflect, when it kept one from a clean commit.
	checkpoint() (int64, bool)
	// commit records that the contents now reflect the changelog up to
	// (excluding) offset.
	commit(offset int64) error
	// dirty marks the contents as ahead of any checkpoint (processing
	// started), so a crash before the next commit forces a full restore.
	dirty() error
	// close releases the backend, keeping durable contents; destroy
	// releases it and deletes them.
	close() error
	destroy() error
}

// memBackend is the in-memory backend: a map for lookups and a sorted key
// slice for ranges.
type memBackend struct {
	m    map[string][]byte
	keys []string // sorted
}

func newMemBackend() *memBackend { return &memBackend{m: map[string][]byte{}} }

func (b *memBackend) get(k string) ([]byte, bool) { v, ok := b.m[k]; return v, ok }

func (b *memBackend) put(k string, v []byte) error {
	_, exists := b.m[k]
	if v == nil {
		if exists {
			delete(b.m, k)
			i := sort.SearchStrings(b.keys, k)
			b.keys = append(b.keys[:i], b.keys[i+1:]...)
		}
		return nil
	}
	b.m[k] = v
	if !exists {
		i := sort.SearchStrings(b.keys, k)
		b.keys = append(b.keys, "")
		copy(b.keys[i+1:], b.keys[i:])
		b.keys[i] = k
	}
	return nil
}

func (b *memBackend) scan(from, to string, fn func(k string, v []byte) bool) {
	for i := sort.SearchStrings(b.keys, from); i < len(b.keys); i++ {
		k := b.keys[i]
		if to != "" && k >= to {
			return
		}
		if !fn(k, b.m[k]) {
			return
		}
	}
}

func (b *memBackend) size() int                 { return len(b.m) }
func (b *memBackend) checkpoint() (int64, bool) { return 0, false }
func (b *memBackend) commit(int64) error        { return nil }
func (b *memBackend) dirty() error              { return nil }
func (b *memBackend) close() error              { return nil }
func (b *memBackend) destroy() error            { return nil }

// store is a task's state store: a backend plus the set of keys changed
// since the last flush, which flush writes to the changelog (one record per
// key per commit interval, the last value wins as in a compacted topic).
type store struct {
	def       *storeDef
	b         backend
	changed   map[string]struct{}
	topic     string
	partition int32
	// next is the changelog offset after the last record this task wrote,
	// learned from produce results (on the producer's goroutine); -1
	// until one is known.
	next atomic.Int64
}

func (s *store) get(k []byte) ([]byte, bool) { return s.b.get(string(k)) }

func (s *store) put(k, v []byte) error {
	ks := string(k)
	if err := s.b.put(ks, v); err != nil {
		return err
	}
	s.changed[ks] = struct{}{}
	return nil
}

// flush sends the changed keys to the changelog.
func (s *store) flush(out sender) {
	for k := range s.changed {
		v, _ := s.b.get(k)
		out.send(s.topic, s.partition, []byte(k), v, -1, func(off int64) {
			for {
				cur := s.next.Load()
				if off+1 <= cur || s.next.CompareAndSwap(cur, off+1) {
					return
				}
			}
		})
	}
	clear(s.changed)
}

// Keys of window and session stores start with the record key's length as a
// uvarint, so one key's entries are contiguous and never interleave with a
// longer key sharing its prefix.

func keyPrefix(k []byte) []byte {
	out := binary.AppendUvarint(make([]byte, 0, len(k)+26), uint64(len(k)))
	return append(out, k...)
}

// windowKey is prefix(k) + 8-byte big-endian start: a key's windows sort by
// start time. Timestamps are offset by 1<<63 so negative ones sort first.
func windowKey(k []byte, start int64) []byte {
	return binary.BigEndian.AppendUint64(keyPrefix(k), uint64(start)^(1<<63))
}

// splitWindowKey returns the record key and the start of a window key.
func splitWindowKey(wk []byte) ([]byte, int64, bool) {
	n, w := binary.Uvarint(wk)
	if w <= 0 || uint64(len(wk)) != uint64(w)+n+8 {
		return nil, 0, false
	}
	k := wk[w : w+int(n)]
	return k, int64(binary.BigEndian.Uint64(wk[w+int(n):]) ^ (1 << 63)), true
}

// sessionKey is prefix(k) + end + start, so a key's sessions sort by end.
func sessionKey(k []byte, start, end int64) []byte {
	out := binary.BigEndian.AppendUint64(keyPrefix(k), uint64(end)^(1<<63))
	return binary.BigEndian.AppendUint64(out, uint64(start)^(1<<63))
}

func splitSessionKey(sk []byte) (k []byte, start, end int64, ok bool) {
	n, w := binary.Uvarint(sk)
	if w <= 0 || uint64(len(sk)) != uint64(w)+n+16 {
		return nil, 0, 0, false
	}
	k = sk[w : w+int(n)]
	end = int64(binary.BigEndian.Uint64(sk[w+int(n):]) ^ (1 << 63))
	start = int64(binary.BigEndian.Uint64(sk[w+int(n)+8:]) ^ (1 << 63))
	return k, start, end, true
}

// timeKey is an 8-byte big-endian time (offset like windowKey) followed by
// rest: entries ordered by time, which suppression buffers scan.
func timeKey(t int64, rest []byte) []byte {
	return append(binary.BigEndian.AppendUint64(nil, uint64(t)^(1<<63)), rest...)
}

func splitTimeKey(b []byte) (int64, []byte) {
	return int64(binary.BigEndian.Uint64(b) ^ (1 << 63)), b[8:]
}

// metaKey is the reserved key under which an operator keeps its observed
// stream time in its own store. Encoded keys of every store kind are at
// least one byte long, so the empty key never collides with one.
const metaKey = ""

func getMetaTime(s *store) int64 {
	v, ok := s.b.get(metaKey)
	if !ok || len(v) != 8 {
		return minTime
	}
	return int64(binary.BigEndian.Uint64(v))
}

func putMetaTime(s *store, t int64) error {
	return s.put([]byte(metaKey), binary.BigEndian.AppendUint64(nil, uint64(t)))
}

// minTime is "no stream time yet".
const minTime = -1 << 63

// valueList encodes several values as uvarint-length-prefixed bytes; the
// stream-stream join buffers every record of one key and timestamp in one.
func appendValue(list, v []byte) []byte {
	list = binary.AppendUvarint(list, uint64(len(v)))
	return append(list, v...)
}

func eachValue(list []byte, fn func(v []byte) error) error {
	for len(list) > 0 {
		n, w := binary.Uvarint(list)
		if w <= 0 || uint64(len(list)-w) < n {
			return errCorruptList
		}
		if err := fn(list[w : w+int(n)]); err != nil {
			return err
		}
		list = list[w+int(n):]
	}
	return nil
}
