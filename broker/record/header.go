package record

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// minBatchLength is the smallest legal batchLength: the header bytes after the
// batchLength field (61 - 12) with no records.
const minBatchLength = HeaderSize - offPartitionLeaderEpoch

// castagnoli is the CRC-32C table. It is computed once and never written, so
// sharing it is safe.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Size is the whole batch size in bytes: 12 + BatchLength.
func (h Header) Size() int { return offPartitionLeaderEpoch + int(h.BatchLength) }

// LastOffset is BaseOffset + LastOffsetDelta.
func (h Header) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// Compression returns the codec from the attributes.
func (h Header) Compression() Compression { return Compression(h.Attributes & AttrCompressionMask) }

// IsTransactional reports the transactional attribute bit.
func (h Header) IsTransactional() bool { return h.Attributes&AttrTransactional != 0 }

// IsControl reports the control attribute bit.
func (h Header) IsControl() bool { return h.Attributes&AttrControl != 0 }

// LogAppendTime reports whether the timestamp type is LogAppendTime.
func (h Header) LogAppendTime() bool { return h.Attributes&AttrLogAppendTime != 0 }

// ParseHeader decodes the header at the start of b without checking the CRC.
// It fails with ErrTooShort when len(b) < HeaderSize, ErrUnsupportedMagic for a
// magic other than 2, and ErrCorrupt when batchLength is below the v2 minimum (49).
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("header needs %d bytes, have %d: %w", HeaderSize, len(b), ErrTooShort)
	}
	be := binary.BigEndian
	h := Header{
		BaseOffset:           int64(be.Uint64(b[offBaseOffset:])),
		BatchLength:          int32(be.Uint32(b[offBatchLength:])),
		PartitionLeaderEpoch: int32(be.Uint32(b[offPartitionLeaderEpoch:])),
		Magic:                int8(b[offMagic]),
		CRC:                  be.Uint32(b[offCRC:]),
		Attributes:           int16(be.Uint16(b[offAttributes:])),
		LastOffsetDelta:      int32(be.Uint32(b[offLastOffsetDelta:])),
		BaseTimestamp:        int64(be.Uint64(b[offBaseTimestamp:])),
		MaxTimestamp:         int64(be.Uint64(b[offMaxTimestamp:])),
		ProducerID:           int64(be.Uint64(b[offProducerID:])),
		ProducerEpoch:        int16(be.Uint16(b[offProducerEpoch:])),
		BaseSequence:         int32(be.Uint32(b[offBaseSequence:])),
		NumRecords:           int32(be.Uint32(b[offRecordCount:])),
	}
	if h.Magic != MagicV2 {
		return h, fmt.Errorf("magic %d at offset %d: %w", h.Magic, h.BaseOffset, ErrUnsupportedMagic)
	}
	if h.BatchLength < minBatchLength {
		return h, fmt.Errorf("batchLength %d below minimum %d: %w", h.BatchLength, minBatchLength, ErrCorrupt)
	}
	return h, nil
}

// Validate checks that b is exactly one whole batch: magic 2, a consistent length
// (ErrTooShort / ErrCorrupt when len(b) != 12+batchLength), a matching CRC-32C
// (ErrCRC), recordCount >= 0 and lastOffsetDelta consistent with a non-empty batch.
// It does not decompress.
//
// Empty batches (recordCount 0) pass: Kafka's log cleaner keeps them to preserve
// producer state, so they occur in stored and replicated logs. Because compaction
// keeps the surviving records' offset deltas, the check is lastOffsetDelta >=
// recordCount-1 rather than equality; a produce handler that wants Kafka's stricter
// client rule (lastOffsetDelta == recordCount-1, recordCount > 0) checks that on
// the returned Header.
func Validate(b []byte) (Header, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return h, err
	}
	if err := checkLength(b, h); err != nil {
		return h, err
	}
	if got := crc32.Checksum(b[offAttributes:], castagnoli); got != h.CRC {
		return h, fmt.Errorf("batch at offset %d: stored %#08x, computed %#08x: %w", h.BaseOffset, h.CRC, got, ErrCRC)
	}
	if h.NumRecords < 0 {
		return h, fmt.Errorf("batch at offset %d: negative record count %d: %w", h.BaseOffset, h.NumRecords, ErrInvalidRecord)
	}
	if h.LastOffsetDelta < 0 || (h.NumRecords > 0 && h.LastOffsetDelta < h.NumRecords-1) {
		return h, fmt.Errorf("batch at offset %d: lastOffsetDelta %d with %d records: %w",
			h.BaseOffset, h.LastOffsetDelta, h.NumRecords, ErrInvalidRecord)
	}
	return h, nil
}

// checkLength reports whether b is exactly the batch its header describes.
func checkLength(b []byte, h Header) error {
	switch size := int64(offPartitionLeaderEpoch) + int64(h.BatchLength); {
	case int64(len(b)) < size:
		return fmt.Errorf("batch at offset %d needs %d bytes, have %d: %w", h.BaseOffset, size, len(b), ErrTooShort)
	case int64(len(b)) > size:
		return fmt.Errorf("batch at offset %d: %d trailing bytes: %w", h.BaseOffset, int64(len(b))-size, ErrCorrupt)
	}
	return nil
}

// Next splits the first batch off a concatenation of batches. It returns the batch,
// the rest, and an error when the header is invalid. When buf holds only part of a
// batch it returns ErrTooShort: callers reading a log tail treat that as a torn write.
//
// Next checks the header only (as ParseHeader does), not the CRC: callers that need
// integrity call Validate on the returned batch. The batch's capacity is clipped to
// its length so appending to it cannot overwrite the rest. On error, batch is nil,
// rest is buf and h holds whatever of the header could be decoded.
func Next(buf []byte) (batch []byte, rest []byte, h Header, err error) {
	h, err = ParseHeader(buf)
	if err != nil {
		return nil, buf, h, err
	}
	size := h.Size()
	if len(buf) < size {
		return nil, buf, h, fmt.Errorf("batch at offset %d needs %d bytes, have %d: %w", h.BaseOffset, size, len(buf), ErrTooShort)
	}
	return buf[:size:size], buf[size:], h, nil
}

// SetBaseOffset writes baseOffset in place (outside the CRC).
//
// REQUIRES: len(b) >= HeaderSize.
func SetBaseOffset(b []byte, off int64) {
	binary.BigEndian.PutUint64(b[offBaseOffset:], uint64(off))
}

// SetPartitionLeaderEpoch writes partitionLeaderEpoch in place (outside the CRC).
//
// REQUIRES: len(b) >= HeaderSize.
func SetPartitionLeaderEpoch(b []byte, epoch int32) {
	binary.BigEndian.PutUint32(b[offPartitionLeaderEpoch:], uint32(epoch))
}

// SetLogAppendTime sets the LogAppendTime attribute and maxTimestamp to ts, and
// recomputes the CRC, as Kafka does when a topic uses message.timestamp.type=LogAppendTime.
// baseTimestamp is left as the producer wrote it, as Kafka does; readers of a
// LogAppendTime batch use maxTimestamp for every record.
//
// REQUIRES: b is exactly one whole batch (as returned by Next or accepted by Validate).
func SetLogAppendTime(b []byte, ts int64) {
	be := binary.BigEndian
	attrs := be.Uint16(b[offAttributes:]) | uint16(AttrLogAppendTime)
	be.PutUint16(b[offAttributes:], attrs)
	be.PutUint64(b[offMaxTimestamp:], uint64(ts))
	setCRC(b)
}

// setCRC recomputes the CRC-32C of the whole batch b and stores it.
func setCRC(b []byte) {
	binary.BigEndian.PutUint32(b[offCRC:], crc32.Checksum(b[offAttributes:], castagnoli))
}
