package log

// On-disk formats of a partition folder; broker/README.md documents the same
// for operators: keep the two in step.
//
//	<base>.log
//	    RecordBatch v2 batches back to back, exactly as appended. <base> is the
//	    segment's base offset as 20 decimal digits: no batch in the segment has a
//	    smaller offset, and every offset in it is below the next segment's base.
//
//	<base>.index   (offset index, sparse)
//	    8-byte entries, big endian: relOffset uint32 | position uint32.
//	    relOffset is a batch's baseOffset minus <base>, position is where that batch
//	    starts in the .log file. One entry is added for the first batch that starts
//	    index.interval.bytes or more after the previous entry's batch; position 0 is
//	    implied and never stored. Both fields strictly increase.
//
//	<base>.timeindex   (time index, sparse)
//	    12-byte entries, big endian: timestamp int64 | relOffset uint32.
//	    timestamp is the largest batch maxTimestamp in the segment up to the batch
//	    indexed at the same moment, relOffset the base offset (minus <base>) of the
//	    batch holding that timestamp. An entry is added next to an offset-index entry
//	    when the largest timestamp grew, and once more when the segment stops being
//	    the active one, so the last entry holds the segment's largest timestamp.
//	    Timestamps strictly increase, offsets never decrease.
//
//	log.checkpoint
//	    Text, written atomically (temp file, fsync, rename, fsync folder):
//	        tributary-log-checkpoint 1
//	        start <log start offset>
//	        recovery <recovery point>
//	        cleaned <first offset compaction has not seen>
//	    Every byte of the log below the recovery point was fsynced, with its index
//	    entries written, before the checkpoint was. A clean Close writes the end
//	    offset as the recovery point, so a clean restart scans almost nothing,
//	    and adds one line per segment:
//	        indexes <base offset> <CRC-32C of .index> <CRC-32C of .timeindex>
//	    A segment whose index files no longer match gets them rebuilt from the
//	    log. The first checkpoint written after Open drops these lines.
//
//	<base>.log.cleaned, <base>.index.cleaned, <base>.timeindex.cleaned
//	    A compaction pass's output, written and fsynced before anything is replaced.
//	<base>.swap
//	    Compaction's commit record, written atomically once the .cleaned files are
//	    durable: "tributary-swap 1", then one line per rewritten group listing the
//	    base offsets of the segments it replaces, the group's own base first.
//	    Replacing renames each <base><ext>.cleaned over <base><ext>, deletes the
//	    other listed segments, fsyncs the folder and removes the .swap file.
//
// Index files are hints kept in memory: appends add entries in memory and write
// them on flush, roll and close. The log never trusts them blindly: an entry is
// checked against the batch header it points to before a read relies on it.
//
// Recovery on Open:
//  1. a .swap file is a committed compaction: it is completed; .cleaned files
//     without one are an uncommitted pass and are deleted;
//  2. each segment's indexes are loaded; missing or structurally invalid ones are
//     rebuilt by scanning the whole segment;
//  3. each segment is scanned with CRC checks from its last index entry at or
//     below the recovery point (from the start when there is none), so a clean
//     restart reads one index interval per segment and a crash rereads exactly
//     the data that may not have reached the disk;
//  4. a torn or damaged batch ends the last segment: the file is truncated after
//     the last whole, CRC-valid batch. In any older segment it is reported as
//     ErrCorruptSegment with the file and position, never skipped.
//
// Damage to baseOffset or partitionLeaderEpoch (the header fields outside the
// CRC) is detected only where it breaks the offset order; a byte flipped in data
// already below the recovery point is found by the consumer's CRC check, not by
// the broker, as in Kafka.

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// File name extensions.
const (
	logExt       = ".log"
	indexExt     = ".index"
	timeIndexExt = ".timeindex"
	cleanedExt   = ".cleaned"
	swapExt      = ".swap"
	tmpExt       = ".tmp"

	checkpointName = "log.checkpoint"
	// deletedSuffix marks a partition folder being removed; such folders are
	// deleted when the Manager starts.
	deletedSuffix = ".deleted"
)

// segmentExts are the files that make up one segment.
var segmentExts = [...]string{logExt, indexExt, timeIndexExt}

// segmentName is the 20-digit file name stem of the segment based at base.
func segmentName(base int64) string { return fmt.Sprintf("%020d", base) }

// segmentPath is the path of one of the segment's files.
func segmentPath(dir string, base int64, ext string) string {
	return filepath.Join(dir, segmentName(base)+ext)
}

// parseSegmentName returns the base offset of a file named <20 digits><ext>.
func parseSegmentName(name, ext string) (int64, bool) {
	stem, ok := strings.CutSuffix(name, ext)
	if !ok || len(stem) != 20 {
		return 0, false
	}
	for _, c := range stem {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	base, err := strconv.ParseInt(stem, 10, 64)
	if err != nil {
		return 0, false
	}
	return base, true
}
