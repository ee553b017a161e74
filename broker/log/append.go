package log

import (
	"errors"
	"fmt"

	"github.com/tributary-io/tributary/broker/record"
)

// Append validates one or more concatenated batches (magic, length, CRC-32C, record
// count, max.message.bytes per batch), assigns consecutive offsets by patching
// baseOffset, stamps leaderEpoch into partitionLeaderEpoch, applies LogAppendTime
// when configured, writes them, rolls segments by segment.bytes/segment.ms and
// applies flush.messages. Nothing is written if any batch is invalid. The input
// slice is modified in place.
//
// The batches are written with one positional write; a rolled segment takes them
// all, even past segment.bytes. Their index entries are kept in memory and reach
// the index files on flush, roll or close.
func (l *Log) Append(batches []byte, leaderEpoch int32) (AppendInfo, error) {
	return l.append(batches, leaderEpoch, true)
}

// AppendAsFollower appends batches that already carry their offsets and leader
// epochs, as a follower copies its leader's log: the batches are validated as by
// Append, must start at or after EndOffset and be in offset order, and are
// written unchanged (gaps left by the leader's compaction stay). Nothing is
// written if any batch is invalid.
func (l *Log) AppendAsFollower(batches []byte) (AppendInfo, error) {
	return l.append(batches, 0, false)
}

// summary is what validation learns about a set of batches.
type summary struct {
	firstBase  int64 // base offset of the first batch as given
	lastBase   int64 // base offset of the last batch as given
	lastOffset int64 // last offset of the last batch as given
	offsets    int64 // sum of lastOffsetDelta+1
	numRecords int64
	maxTs      int64
}

// validateBatches checks every batch before anything is written.
func validateBatches(b []byte, maxBytes int64, follower bool) (summary, error) {
	sum := summary{maxTs: -1}
	if len(b) == 0 {
		return sum, fmt.Errorf("append: no batches: %w", record.ErrTooShort)
	}
	prevNext := int64(-1)
	for pos, rest := 0, b; len(rest) > 0; {
		batch, r, h, err := record.Next(rest)
		if err != nil {
			return sum, fmt.Errorf("append: batch at byte %d: %w", pos, err)
		}
		if int64(len(batch)) > maxBytes {
			return sum, fmt.Errorf("append: batch at byte %d is %d bytes, max.message.bytes is %d: %w",
				pos, len(batch), maxBytes, ErrBatchTooLarge)
		}
		if _, err := record.Validate(batch); err != nil {
			return sum, fmt.Errorf("append: batch at byte %d: %w", pos, err)
		}
		if err := record.ValidateRecords(batch); err != nil {
			return sum, fmt.Errorf("append: batch at byte %d: %w", pos, err)
		}
		if follower {
			if h.BaseOffset < prevNext || h.BaseOffset < 0 {
				return sum, fmt.Errorf("append: batch at byte %d has offset %d, expected at least %d: %w",
					pos, h.BaseOffset, max(prevNext, 0), errOffsetOrder)
			}
			prevNext = h.LastOffset() + 1
		}
		if pos == 0 {
			sum.firstBase = h.BaseOffset
		}
		sum.lastBase, sum.lastOffset = h.BaseOffset, h.LastOffset()
		sum.offsets += int64(h.LastOffsetDelta) + 1
		sum.numRecords += int64(h.NumRecords)
		sum.maxTs = max(sum.maxTs, h.MaxTimestamp)
		pos += len(batch)
		rest = r
	}
	return sum, nil
}

func (l *Log) append(b []byte, epoch int32, leader bool) (AppendInfo, error) {
	cfg := l.cfg.Load()
	sum, err := validateBatches(b, cfg.MaxMessageBytes, !leader)
	if err != nil {
		return AppendInfo{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.checkOpen(); err != nil {
		return AppendInfo{}, err
	}
	cfg = l.cfg.Load()
	nowMs := l.now().UnixMilli()
	end := l.end.Load()

	info := AppendInfo{LogAppendTime: -1, MaxTimestamp: sum.maxTs, NumRecords: sum.numRecords, Bytes: int64(len(b))}
	first, last := end, end+sum.offsets-1 // offsets the batches will span
	lastBase := end + sum.offsets - 1     // an upper bound is enough to decide on a roll
	if !leader {
		if sum.firstBase < end {
			return AppendInfo{}, fmt.Errorf("append: follower batch at offset %d below log end %d: %w",
				sum.firstBase, end, errOffsetOrder)
		}
		first, lastBase = sum.firstBase, sum.lastBase
	}
	s := l.active()
	if l.shouldRoll(s, int64(len(b)), first, lastBase, nowMs, cfg) {
		if s, err = l.rollLocked(first); err != nil {
			return AppendInfo{}, err
		}
	}

	// Assign offsets and stamp the header fields the broker owns.
	if leader {
		logAppend := cfg.MessageTimestampType == "LogAppendTime"
		if logAppend {
			info.LogAppendTime, info.MaxTimestamp = nowMs, nowMs
		}
		next := end
		for rest := b; len(rest) > 0; {
			batch, r, h, _ := record.Next(rest) // validated above
			record.SetBaseOffset(batch, next)
			record.SetPartitionLeaderEpoch(batch, epoch)
			if logAppend {
				record.SetLogAppendTime(batch, nowMs)
			}
			next += int64(h.LastOffsetDelta) + 1
			rest = r
		}
	} else {
		last = sum.lastOffset
	}

	pos := s.size
	if _, err := s.file.f.WriteAt(b, pos); err != nil {
		werr := fmt.Errorf("append to %s at %d: %w", s.path(logExt), pos, err)
		if terr := s.file.f.Truncate(pos); terr != nil {
			// The file may hold part of the write; appending after it would
			// leave a hole of garbage in the log. Refuse until reopened,
			// when recovery cuts the partial batch.
			l.failed = errors.Join(werr, fmt.Errorf("undo partial append: %w", terr))
			l.logger.Error("log disabled after a failed write", "err", l.failed)
		}
		return AppendInfo{}, werr
	}
	if s.size == 0 {
		s.rollBase = nowMs
	}
	s.mu.Lock()
	for off, rest := pos, b; len(rest) > 0; {
		batch, r, h, _ := record.Next(rest)
		s.addBatchLocked(off, h, cfg.IndexIntervalBytes)
		off += int64(len(batch))
		rest = r
	}
	s.mu.Unlock()
	l.end.Store(last + 1)

	info.BaseOffset, info.LastOffset = first, last
	l.unflushedMsg += sum.numRecords
	if l.unflushedMsg >= cfg.FlushMessages {
		if err := l.flushLocked(false); err != nil {
			return info, fmt.Errorf("append: flush.messages: %w", err)
		}
	}
	return info, nil
}

// shouldRoll decides whether an append of size bytes, whose batches start at
// offset first and whose last batch starts at lastBase, needs a new segment.
// REQUIRES: mu.
func (l *Log) shouldRoll(s *segment, size, first, lastBase, nowMs int64, cfg *Config) bool {
	fits := lastBase-s.base <= maxRelOffset && s.size+size <= maxRelOffset
	if s.size == 0 {
		return !fits || first < s.base
	}
	return !fits || s.size+size > cfg.SegmentBytes || nowMs-s.rollBase >= cfg.SegmentMs
}

// rollLocked seals the active segment and starts a new one at base. An empty
// active segment is kept too (retention removes it): its name keeps the log's
// start where it was across a reopen.
// REQUIRES: mu.
func (l *Log) rollLocked(base int64) (*segment, error) {
	segs := l.list()
	old := segs[len(segs)-1]
	if old.base == base {
		return old, nil // still empty: nothing to roll
	}
	old.mu.Lock()
	old.addTimeEntryLocked()
	old.mu.Unlock()
	if err := old.writeIndexesLocked(); err != nil {
		return nil, fmt.Errorf("roll: %w", err)
	}
	s, err := newSegment(l.dir, base)
	if err != nil {
		return nil, fmt.Errorf("roll: %w", err)
	}
	l.dirDirty = true
	l.publish(append(segs[:len(segs):len(segs)], s))
	return s, nil
}
