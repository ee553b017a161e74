package fileconn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
)

// positionVersion is the first byte of every position; a change to the
// encoding gets a new version and decode keeps reading the old ones.
const positionVersion = 1

// fingerprint identifies a file by the hash of its first n bytes.
type fingerprint struct {
	hash uint64
	n    uint32
}

func fingerprintOf(head []byte) fingerprint {
	h := fnv.New64a()
	h.Write(head)
	return fingerprint{hash: h.Sum64(), n: uint32(len(head))}
}

// mark is how far a file was emitted: the byte offset after the last record
// and the number of lines before it. id (device and inode) only breaks ties
// between files with equal fingerprints when a source restarts.
type mark struct {
	fp     fingerprint
	id     fileID
	offset int64
	line   int64
}

// fileID is a file's device and inode number.
type fileID struct{ dev, ino uint64 }

// encodePosition appends the position made of marks to dst:
//
//	version byte, uvarint count, then per file:
//	8-byte big-endian hash, uvarint head length, uvarint offset, uvarint line,
//	uvarint device, uvarint inode
func encodePosition(dst []byte, marks []mark) []byte {
	dst = append(dst, positionVersion)
	dst = binary.AppendUvarint(dst, uint64(len(marks)))
	for _, m := range marks {
		dst = binary.BigEndian.AppendUint64(dst, m.fp.hash)
		dst = binary.AppendUvarint(dst, uint64(m.fp.n))
		dst = binary.AppendUvarint(dst, uint64(m.offset))
		dst = binary.AppendUvarint(dst, uint64(m.line))
		dst = binary.AppendUvarint(dst, m.id.dev)
		dst = binary.AppendUvarint(dst, m.id.ino)
	}
	return dst
}

var errBadPosition = errors.New("file source: not a position of this source")

// decodePosition parses a position made by encodePosition.
func decodePosition(b []byte) ([]mark, error) {
	if len(b) == 0 || b[0] != positionVersion {
		return nil, fmt.Errorf("%w: unknown version", errBadPosition)
	}
	b = b[1:]
	uv := func() (uint64, error) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, fmt.Errorf("%w: truncated", errBadPosition)
		}
		b = b[n:]
		return v, nil
	}
	count, err := uv()
	if err != nil {
		return nil, err
	}
	// Each mark takes at least 13 bytes; a larger count is corrupt.
	if count > uint64(len(b))/13 {
		return nil, fmt.Errorf("%w: %d files in %d bytes", errBadPosition, count, len(b))
	}
	marks := make([]mark, 0, count)
	for i := uint64(0); i < count; i++ {
		if len(b) < 8 {
			return nil, fmt.Errorf("%w: truncated", errBadPosition)
		}
		m := mark{fp: fingerprint{hash: binary.BigEndian.Uint64(b)}}
		b = b[8:]
		n, err := uv()
		if err != nil {
			return nil, err
		}
		off, err := uv()
		if err != nil {
			return nil, err
		}
		line, err := uv()
		if err != nil {
			return nil, err
		}
		if m.id.dev, err = uv(); err != nil {
			return nil, err
		}
		if m.id.ino, err = uv(); err != nil {
			return nil, err
		}
		if n > 1<<20 || off > 1<<62 || line > off {
			return nil, fmt.Errorf("%w: mark %d out of range", errBadPosition, i)
		}
		m.fp.n, m.offset, m.line = uint32(n), int64(off), int64(line)
		marks = append(marks, m)
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", errBadPosition, len(b))
	}
	return marks, nil
}
