package log

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/tributary-io/tributary/broker/record"
)

// maxCompactionKeys bounds the key map of one compaction pass. A pass whose
// segments hold more distinct keys cleans only the segments read before the
// map filled; the next pass goes on from there.
const maxCompactionKeys = 4 << 20

// Compact runs one compaction pass when cleanup.policy includes compact. It runs
// concurrently with Append and Read and swaps rewritten segments atomically.
//
// A pass covers the non-active segments, oldest first, up to the first one with
// records younger than min.compaction.lag.ms. It reads them once to find each
// key's latest offset, then rewrites them in groups of at most segment.bytes,
// keeping for each key only its latest record; a tombstone (null value) that is
// the latest goes once it is delete.retention.ms old. Offsets never change;
// batches keep their headers and are re-encoded only when they lose records.
// Records of aborted transactions go; records of transactions whose marker is
// not in the covered range stay, and do not hide older values of their keys.
// Control batches and each producer's last data batch stay whole, so producer
// state can be rebuilt from the log. Records without a key go, as in Kafka.
//
// The rewritten files are fsynced beside the originals and swapped in under
// the log's lock (see format.go). A pass gives up without changing anything
// when the log was truncated, trimmed or closed meanwhile.
func (l *Log) Compact() (CleanStats, error) {
	cfg := l.cfg.Load()
	if !cfg.Compact() {
		return CleanStats{}, nil
	}
	l.cleanMu.Lock()
	defer l.cleanMu.Unlock()
	return l.compactLocked(cfg)
}

// candidate is a segment a pass may rewrite, with its bounds when the pass began.
type candidate struct {
	s          *segment
	size, next int64
}

func (l *Log) compactLocked(cfg *Config) (CleanStats, error) {
	l.mu.Lock()
	if err := l.checkOpen(); err != nil {
		l.mu.Unlock()
		return CleanStats{}, err
	}
	nowMs := l.now().UnixMilli()
	segs := l.list()
	var cands []candidate
	for _, s := range segs[:len(segs)-1] {
		if cfg.MinCompactionLagMs > 0 && nowMs-segmentTime(s) < cfg.MinCompactionLagMs {
			break
		}
		s.file.acquire() // held by the list, so this cannot fail
		cands = append(cands, candidate{s: s, size: s.size, next: s.next})
	}
	gen := l.gen.Load()
	l.mu.Unlock()
	defer func() {
		for _, c := range cands {
			c.s.file.release()
		}
	}()
	if len(cands) == 0 {
		return CleanStats{}, nil
	}

	m, n, err := l.buildKeyMap(cands)
	if err != nil {
		if l.changedSince(gen) {
			return CleanStats{}, nil // a truncation cut the segments being read
		}
		return CleanStats{}, fmt.Errorf("compact %s: %w", l.dir, err)
	}
	groups := groupCandidates(cands[:n], cfg.SegmentBytes)
	var st CleanStats
	var outs []*segment
	discard := func() {
		for i, out := range outs {
			if out != nil {
				out.file.release()
				removeCleaned(l.dir, groups[i][0].s.base)
			}
		}
	}
	tombstoneAt := int64(0)
	for _, g := range groups {
		out, gst, err := l.cleanGroup(g, m, cfg, nowMs, &tombstoneAt)
		if err != nil {
			discard()
			if l.changedSince(gen) {
				return CleanStats{}, nil
			}
			return CleanStats{}, fmt.Errorf("compact %s: %w", l.dir, err)
		}
		if len(g) == 1 && gst.RecordsRemoved == 0 {
			// Nothing to gain from rewriting a lone segment unchanged.
			out.file.release()
			removeCleaned(l.dir, g[0].s.base)
			out = nil
		} else {
			st.SegmentsRewritten += len(g)
			st.BytesBefore += gst.BytesBefore
			st.BytesAfter += gst.BytesAfter
			st.RecordsRemoved += gst.RecordsRemoved
		}
		outs = append(outs, out)
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.checkOpen(); err != nil || l.gen.Load() != gen {
		discard()
		if err == nil {
			err = fmt.Errorf("compact %s: the log changed during the pass; nothing replaced", l.dir)
			l.logger.Info(err.Error())
			return CleanStats{}, nil
		}
		return CleanStats{}, err
	}
	if err := l.swapLocked(groups, outs); err != nil {
		return CleanStats{}, fmt.Errorf("compact %s: %w", l.dir, err)
	}
	last := cands[n-1]
	l.cleanedTo = max(l.cleanedTo, last.next)
	l.tombstoneAt = tombstoneAt
	return st, nil
}

// changedSince reports whether segments were truncated, deleted or replaced
// since the log's generation was gen.
func (l *Log) changedSince(gen uint64) bool { return l.gen.Load() != gen }

// keyMap is what the first read of a pass learns.
type keyMap struct {
	latest       map[string]int64 // key → offset of its latest record
	producerLast map[int64]int64  // producer id → base offset of its last data batch
	aborted      map[int64]bool   // base offsets of batches in aborted transactions
	open         map[int64]bool   // base offsets of batches in unfinished transactions
}

// txnState collects one producer's transaction until its marker.
type txnState struct {
	batches []int64
	keys    map[string]int64
}

// Control record types (the key's second int16).
const (
	controlAbort  = 0
	controlCommit = 1
)

// buildKeyMap reads the candidates in order and returns the map and how many
// of them it covers (all, unless the map filled up).
func (l *Log) buildKeyMap(cands []candidate) (*keyMap, int, error) {
	m := &keyMap{
		latest:       map[string]int64{},
		producerLast: map[int64]int64{},
		aborted:      map[int64]bool{},
		open:         map[int64]bool{},
	}
	pending := map[int64]*txnState{}
	n := len(cands)
	for i, c := range cands {
		err := eachBatch(l, c, func(batch []byte, h record.Header, recs []record.Record) {
			if h.IsControl() {
				t := pending[h.ProducerID]
				if t == nil {
					return
				}
				delete(pending, h.ProducerID)
				switch controlType(recs) {
				case controlCommit:
					for k, off := range t.keys {
						if cur, ok := m.latest[k]; !ok || off > cur {
							m.latest[k] = off
						}
					}
				case controlAbort:
					for _, b := range t.batches {
						m.aborted[b] = true
					}
				default:
					for _, b := range t.batches {
						m.open[b] = true
					}
				}
				return
			}
			if h.ProducerID >= 0 {
				m.producerLast[h.ProducerID] = h.BaseOffset
			}
			keys := m.latest
			if h.IsTransactional() {
				t := pending[h.ProducerID]
				if t == nil {
					t = &txnState{keys: map[string]int64{}}
					pending[h.ProducerID] = t
				}
				t.batches = append(t.batches, h.BaseOffset)
				keys = t.keys
			}
			for _, r := range recs {
				if r.Key != nil {
					keys[string(r.Key)] = h.BaseOffset + int64(r.OffsetDelta)
				}
			}
		})
		if err != nil {
			return nil, 0, err
		}
		if len(m.latest) >= maxCompactionKeys && i+1 < len(cands) {
			n = i + 1
			break
		}
	}
	for _, t := range pending {
		for _, b := range t.batches {
			m.open[b] = true
		}
	}
	return m, n, nil
}

// eachBatch reads every batch of a candidate, checks its CRC and decodes its
// records for fn.
func eachBatch(l *Log, c candidate, fn func([]byte, record.Header, []record.Record)) error {
	sc := newBatchScanner(c.s.file.f, 0, c.size)
	for {
		if l.stopping.Load() {
			return ErrClosed
		}
		batch, h, pos, err := sc.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err == nil {
			_, err = record.Validate(batch)
		}
		var recs []record.Record
		if err == nil {
			recs, err = record.Records(batch)
		}
		if err != nil {
			if isDamage(err) {
				return c.s.corrupt(pos, err)
			}
			return fmt.Errorf("read %s at %d: %w", c.s.path(logExt), pos, err)
		}
		fn(batch, h, recs)
	}
}

// controlType returns the type of a control batch's marker, or -1.
func controlType(recs []record.Record) int {
	if len(recs) == 0 || len(recs[0].Key) < 4 {
		return -1
	}
	return int(int16(binary.BigEndian.Uint16(recs[0].Key[2:4])))
}

// groupCandidates splits the candidates into runs that fit one segment: at most
// segBytes (and the index's 4 GiB) of input and offsets within the index's range.
func groupCandidates(cands []candidate, segBytes int64) [][]candidate {
	var groups [][]candidate
	var cur []candidate
	var bytes int64
	for _, c := range cands {
		if len(cur) > 0 {
			base := cur[0].s.base
			if bytes+c.size > min(segBytes, maxRelOffset) || c.next-1-base > maxRelOffset {
				groups = append(groups, cur)
				cur, bytes = nil, 0
			}
		}
		cur = append(cur, c)
		bytes += c.size
	}
	if len(cur) > 0 {
		groups = append(groups, cur)
	}
	return groups
}

// cleanGroup writes the compacted form of a group to <base>.*.cleaned files,
// fsynced, and returns it as a segment (named by its final files).
func (l *Log) cleanGroup(g []candidate, m *keyMap, cfg *Config, nowMs int64, tombstoneAt *int64) (*segment, CleanStats, error) {
	var st CleanStats
	base := g[0].s.base
	path := segmentPath(l.dir, base, logExt) + cleanedExt
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, st, fmt.Errorf("create %s: %w", path, err)
	}
	out := newSegmentFrom(l.dir, base, f)
	fail := func(err error) (*segment, CleanStats, error) {
		out.file.release()
		removeCleaned(l.dir, base)
		return nil, st, err
	}
	w := bufio.NewWriterSize(f, scanBufferSize)
	var pos int64
	for _, c := range g {
		var ferr error
		err := eachBatch(l, c, func(batch []byte, h record.Header, recs []record.Record) {
			if ferr != nil {
				return
			}
			st.BytesBefore += int64(len(batch))
			kept, removed, err := m.filter(batch, h, recs, cfg, nowMs, tombstoneAt)
			if err != nil {
				ferr = fmt.Errorf("rewrite batch at offset %d: %w", h.BaseOffset, err)
				return
			}
			st.RecordsRemoved += removed
			if kept == nil {
				return
			}
			if _, err := w.Write(kept); err != nil {
				ferr = fmt.Errorf("write %s: %w", path, err)
				return
			}
			kh, _ := record.ParseHeader(kept)
			out.addBatchLocked(pos, kh, cfg.IndexIntervalBytes)
			pos += int64(len(kept))
		})
		if err = errors.Join(err, ferr); err != nil {
			return fail(err)
		}
	}
	if err := w.Flush(); err != nil {
		return fail(fmt.Errorf("write %s: %w", path, err))
	}
	if err := f.Sync(); err != nil {
		return fail(fmt.Errorf("fsync %s: %w", path, err))
	}
	out.addTimeEntryLocked()
	if err := writeSyncedFile(segmentPath(l.dir, base, indexExt)+cleanedExt, appendIndexBytes(nil, out.index)); err != nil {
		return fail(err)
	}
	if err := writeSyncedFile(segmentPath(l.dir, base, timeIndexExt)+cleanedExt, appendTimeIndexBytes(nil, out.tindex)); err != nil {
		return fail(err)
	}
	out.size = pos
	out.flushedSize, out.flushedNext = out.size, out.next
	out.idxOnDisk, out.tidxOnDisk = len(out.index), len(out.tindex)
	st.BytesAfter = pos
	// A test holds a pass here, mid-rewrite, to check the log serves meanwhile.
	if err := l.hook("group-written"); err != nil {
		return fail(err)
	}
	return out, st, nil
}

// filter returns the batch as it stays after compaction (the input itself when
// it loses nothing, nil when it loses everything) and how many records it lost.
func (m *keyMap) filter(batch []byte, h record.Header, recs []record.Record, cfg *Config, nowMs int64, tombstoneAt *int64) ([]byte, int64, error) {
	switch {
	case h.IsControl(), m.open[h.BaseOffset]:
		return batch, 0, nil
	case h.ProducerID >= 0 && m.producerLast[h.ProducerID] == h.BaseOffset:
		return batch, 0, nil
	case m.aborted[h.BaseOffset]:
		return nil, int64(len(recs)), nil
	}
	kept := recs[:0] // recs is this call's own; filtering in place is safe
	for i := range recs {
		r := &recs[i]
		if r.Key == nil {
			continue
		}
		off := h.BaseOffset + int64(r.OffsetDelta)
		if latest, ok := m.latest[string(r.Key)]; ok && latest > off {
			continue
		}
		if r.Value == nil {
			ts := h.BaseTimestamp + r.TimestampDelta
			if h.LogAppendTime() {
				ts = h.MaxTimestamp
			}
			expiry := ts + cfg.DeleteRetentionMs
			if expiry <= nowMs {
				continue
			}
			if *tombstoneAt == 0 || expiry < *tombstoneAt {
				*tombstoneAt = expiry
			}
		}
		kept = append(kept, *r)
	}
	removed := int64(len(recs) - len(kept))
	switch {
	case removed == 0:
		return batch, 0, nil
	case len(kept) == 0:
		return nil, removed, nil
	}
	out, err := record.Build(record.BatchSpec{
		BaseOffset:           h.BaseOffset,
		PartitionLeaderEpoch: h.PartitionLeaderEpoch,
		Attributes:           h.Attributes,
		Compression:          h.Compression(),
		BaseTimestamp:        h.BaseTimestamp,
		MaxTimestamp:         h.MaxTimestamp,
		ProducerID:           h.ProducerID,
		ProducerEpoch:        h.ProducerEpoch,
		BaseSequence:         h.BaseSequence,
	}, kept)
	return out, removed, err
}

// writeSyncedFile creates path with data and fsyncs it.
func writeSyncedFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// removeCleaned deletes a pass's output files for the group based at base.
func removeCleaned(dir string, base int64) {
	for _, ext := range segmentExts {
		_ = os.Remove(segmentPath(dir, base, ext) + cleanedExt) // leftovers are removed on the next Open
	}
}

// compactionDue reports whether the background pass should compact: enough of
// the non-active log is newer than the last pass (min.cleanable.dirty.ratio),
// or a tombstone kept by the last pass may now go.
func (l *Log) compactionDue(cfg *Config, nowMs int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tombstoneAt > 0 && nowMs >= l.tombstoneAt {
		return true
	}
	segs := l.list()
	var dirty, total int64
	for _, s := range segs[:len(segs)-1] {
		total += s.size
		if s.next > l.cleanedTo {
			dirty += s.size
		}
	}
	return dirty > 0 && float64(dirty)/float64(total) >= cfg.MinCleanableDirtyRatio
}
