package log

import (
	"fmt"
	"hash/crc32"
	"slices"
	"strconv"
	"strings"
)

// indexSums are the CRC-32C checksums of every segment's .index and .timeindex
// files, keyed by base offset, as a clean Close left them.
//
// Index files have no checksum of their own, and their sanity checks (sizes,
// order, bounds, the last time entry against its batch) cannot catch an entry
// that is plausible but wrong, such as a time index missing its largest
// timestamp, which retention and time lookups would then trust. After a clean
// Close nothing may change the files, so a mismatch proves damage and the
// segment's indexes are rebuilt from the log. The checksums are dropped from
// the checkpoint as soon as the log writes a new one, since appends, truncation
// and compaction change the files from then on.
type indexSums map[int64][2]uint32

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// sumsOf computes the checksums of the entries s holds in memory, which after a
// full flush are exactly the bytes of its files.
func sumsOf(s *segment) [2]uint32 {
	return [2]uint32{
		crc32.Checksum(appendIndexBytes(nil, s.index), castagnoli),
		crc32.Checksum(appendTimeIndexBytes(nil, s.tindex), castagnoli),
	}
}

// indexSumsLine is the checkpoint key of one segment's checksums.
const indexSumsKey = "indexes"

// appendIndexSums encodes sums as checkpoint lines in base offset order.
func appendIndexSums(dst []byte, sums indexSums) []byte {
	bases := make([]int64, 0, len(sums))
	for b := range sums {
		bases = append(bases, b)
	}
	slices.Sort(bases)
	for _, b := range bases {
		dst = fmt.Appendf(dst, "%s %d %d %d\n", indexSumsKey, b, sums[b][0], sums[b][1])
	}
	return dst
}

// parseIndexSumsLine decodes the value of one "indexes" line into sums.
func parseIndexSumsLine(val string, sums indexSums) error {
	f := strings.Fields(val)
	if len(f) != 3 {
		return fmt.Errorf("want base and two checksums, got %q", val)
	}
	base, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || base < 0 {
		return fmt.Errorf("bad base offset %q", f[0])
	}
	if _, dup := sums[base]; dup {
		return fmt.Errorf("segment %d listed twice", base)
	}
	var s [2]uint32
	for i, v := range f[1:] {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return fmt.Errorf("bad checksum %q", v)
		}
		s[i] = uint32(n)
	}
	sums[base] = s
	return nil
}
