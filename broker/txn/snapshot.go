package txn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Producer snapshot files. A partition folder holds <offset>.snapshot files (the
// offset as 20 digits, like segment names): the producer state and the aborted
// transactions of every batch below that offset. Layout, big endian:
//
//	version   int16   1
//	crc       uint32  CRC-32C (Castagnoli) of everything after this field
//	offset    int64   the file's offset, repeated
//	producers int32   count, then per producer:
//	    id int64 | epoch int16 | coordinatorEpoch int32 | lastTimestamp int64 |
//	    txnFirstOffset int64 | batches int8 (<= 5), then per batch:
//	        firstSeq int32 | lastSeq int32 | firstOffset int64 | lastOffset int64 | timestamp int64
//	aborted   int32   count, then per aborted transaction:
//	    producerID int64 | firstOffset int64 | lastOffset int64
//
// Files are written to <name>.tmp, fsynced and renamed. The two newest are kept.
const (
	snapshotExt     = ".snapshot"
	snapshotVersion = 1
	snapshotsKept   = 2

	snapshotHeaderSize = 2 + 4 + 8
	producerFixedSize  = 8 + 2 + 4 + 8 + 8 + 1
	batchMetaSize      = 4 + 4 + 8 + 8 + 8
	abortedSize        = 8 + 8 + 8
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// snapshotState is what a snapshot file holds.
type snapshotState struct {
	offset    int64
	producers map[int64]*Producer
	aborted   []AbortedTxn
}

// encodeSnapshot lays st out as documented above. Producers are sorted by id so
// the same state always encodes to the same bytes.
func encodeSnapshot(st snapshotState) []byte {
	be := binary.BigEndian
	b := make([]byte, snapshotHeaderSize, snapshotHeaderSize+len(st.producers)*(producerFixedSize+batchMetaSize)+len(st.aborted)*abortedSize+8)
	be.PutUint16(b, snapshotVersion)
	be.PutUint64(b[6:], uint64(st.offset))
	b = be.AppendUint32(b, uint32(len(st.producers)))
	for _, id := range slices.Sorted(maps.Keys(st.producers)) {
		p := st.producers[id]
		b = be.AppendUint64(b, uint64(p.ID))
		b = be.AppendUint16(b, uint16(p.Epoch))
		b = be.AppendUint32(b, uint32(p.CoordinatorEpoch))
		b = be.AppendUint64(b, uint64(p.LastTimestamp))
		b = be.AppendUint64(b, uint64(p.TxnFirstOffset))
		b = append(b, byte(len(p.Batches)))
		for _, m := range p.Batches {
			b = be.AppendUint32(b, uint32(m.FirstSeq))
			b = be.AppendUint32(b, uint32(m.LastSeq))
			b = be.AppendUint64(b, uint64(m.FirstOffset))
			b = be.AppendUint64(b, uint64(m.LastOffset))
			b = be.AppendUint64(b, uint64(m.Timestamp))
		}
	}
	b = be.AppendUint32(b, uint32(len(st.aborted)))
	for _, a := range st.aborted {
		b = be.AppendUint64(b, uint64(a.ProducerID))
		b = be.AppendUint64(b, uint64(a.FirstOffset))
		b = be.AppendUint64(b, uint64(a.LastOffset))
	}
	be.PutUint32(b[2:], crc32.Checksum(b[6:], castagnoli))
	return b
}

// decodeSnapshot parses a snapshot file, checking its CRC and that every count
// and offset is consistent, so damaged bytes are an error, never a wrong state.
func decodeSnapshot(b []byte) (snapshotState, error) {
	be := binary.BigEndian
	bad := func(format string, args ...any) (snapshotState, error) {
		return snapshotState{}, fmt.Errorf("%w: %s", ErrBadSnapshot, fmt.Sprintf(format, args...))
	}
	if len(b) < snapshotHeaderSize+8 {
		return bad("%d bytes is shorter than a header", len(b))
	}
	if v := int16(be.Uint16(b)); v != snapshotVersion {
		return bad("version %d, this broker reads %d", v, snapshotVersion)
	}
	if got, want := crc32.Checksum(b[6:], castagnoli), be.Uint32(b[2:]); got != want {
		return bad("CRC %08x, stored %08x", got, want)
	}
	st := snapshotState{offset: int64(be.Uint64(b[6:])), producers: map[int64]*Producer{}}
	if st.offset < 0 {
		return bad("negative offset %d", st.offset)
	}
	r := b[snapshotHeaderSize:]
	n := int64(be.Uint32(r))
	r = r[4:]
	if n < 0 || n > int64(len(r))/producerFixedSize {
		return bad("%d producers in %d bytes", n, len(r))
	}
	prevID := int64(-1)
	for range n {
		if len(r) < producerFixedSize {
			return bad("producer cut short")
		}
		p := &Producer{
			ID:               int64(be.Uint64(r)),
			Epoch:            int16(be.Uint16(r[8:])),
			CoordinatorEpoch: int32(be.Uint32(r[10:])),
			LastTimestamp:    int64(be.Uint64(r[14:])),
			TxnFirstOffset:   int64(be.Uint64(r[22:])),
		}
		nb := int(r[30])
		r = r[producerFixedSize:]
		if p.ID < 0 || p.TxnFirstOffset < -1 || p.TxnFirstOffset >= st.offset {
			return bad("producer %d: open transaction at %d", p.ID, p.TxnFirstOffset)
		}
		if p.ID <= prevID {
			return bad("producer %d after %d: not in ascending order", p.ID, prevID)
		}
		prevID = p.ID
		if nb > MaxCachedBatches || len(r) < nb*batchMetaSize {
			return bad("producer %d: %d batches", p.ID, nb)
		}
		for range nb {
			m := BatchMeta{
				FirstSeq:    int32(be.Uint32(r)),
				LastSeq:     int32(be.Uint32(r[4:])),
				FirstOffset: int64(be.Uint64(r[8:])),
				LastOffset:  int64(be.Uint64(r[16:])),
				Timestamp:   int64(be.Uint64(r[24:])),
			}
			r = r[batchMetaSize:]
			if m.FirstSeq < 0 || m.LastSeq < 0 || m.FirstOffset < 0 || m.LastOffset < m.FirstOffset || m.LastOffset >= st.offset {
				return bad("producer %d: batch %+v", p.ID, m)
			}
			p.Batches = append(p.Batches, m)
		}
		st.producers[p.ID] = p
	}
	if len(r) < 4 {
		return bad("aborted transactions missing")
	}
	na := int64(be.Uint32(r))
	r = r[4:]
	if na < 0 || na*abortedSize != int64(len(r)) {
		return bad("%d aborted transactions in %d bytes", na, len(r))
	}
	last := int64(-1)
	for range na {
		a := AbortedTxn{ProducerID: int64(be.Uint64(r)), FirstOffset: int64(be.Uint64(r[8:])), LastOffset: int64(be.Uint64(r[16:]))}
		r = r[abortedSize:]
		if a.FirstOffset < 0 || a.LastOffset <= a.FirstOffset || a.LastOffset < last || a.LastOffset >= st.offset {
			return bad("aborted transaction %+v", a)
		}
		last = a.LastOffset
		st.aborted = append(st.aborted, a)
	}
	return st, nil
}

func snapshotName(offset int64) string { return fmt.Sprintf("%020d%s", offset, snapshotExt) }

// listSnapshots returns the offsets of the snapshot files in dir, newest first.
func listSnapshots(dir string) ([]int64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list snapshots in %s: %w", dir, err)
	}
	var out []int64
	for _, e := range ents {
		stem, ok := strings.CutSuffix(e.Name(), snapshotExt)
		if !ok || len(stem) != 20 {
			continue
		}
		off, err := strconv.ParseInt(stem, 10, 64)
		if err != nil || off < 0 {
			continue
		}
		out = append(out, off)
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out, nil
}

// snapshotLocked writes the state at offset (the log end) and removes all but the
// newest snapshotsKept files.
func (s *PartitionState) snapshotLocked(offset int64) error {
	s.sinceSnapshot = 0
	st := snapshotState{offset: offset, producers: s.producers, aborted: s.aborted}
	dir := s.log.Dir()
	if err := writeFileSynced(filepath.Join(dir, snapshotName(offset)), encodeSnapshot(st)); err != nil {
		return fmt.Errorf("snapshot producer state of %s at %d: %w", s.name, offset, err)
	}
	s.snapOffset = offset
	offs, err := listSnapshots(dir)
	if err != nil {
		return err
	}
	for i, off := range offs {
		if i >= snapshotsKept {
			if err := os.Remove(filepath.Join(dir, snapshotName(off))); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("remove old snapshot: %w", err)
			}
		}
	}
	return nil
}

// writeFileSynced writes path through a temp file: write, fsync, rename. The
// folder is not fsynced: a snapshot lost in a crash costs a longer rescan only.
func writeFileSynced(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
