package record

import (
	"encoding/binary"
	"fmt"
	"math"
)

// BatchSpec is the header input for Build. BaseOffset may be 0 and patched later.
type BatchSpec struct {
	BaseOffset           int64
	PartitionLeaderEpoch int32
	Attributes           int16 // compression bits are taken from Compression
	Compression          Compression
	BaseTimestamp        int64
	MaxTimestamp         int64 // 0 means: computed from records
	ProducerID           int64 // -1 when none
	ProducerEpoch        int16 // -1 when none
	BaseSequence         int32 // -1 when none
}

// Build encodes records into a new RecordBatch v2 with a valid CRC. Record offset
// deltas are taken from the records as given (so compaction can keep gaps);
// LastOffsetDelta is the last record's OffsetDelta.
//
// Offset deltas must be non-negative and strictly increasing, and the codec one
// Kafka defines; otherwise Build fails with ErrInvalidRecord. A computed
// MaxTimestamp is the largest BaseTimestamp+TimestampDelta (BaseTimestamp when
// there are no records). With no records the batch is written uncompressed with
// LastOffsetDelta 0, as Kafka writes its empty batches.
func Build(spec BatchSpec, records []Record) ([]byte, error) {
	c := spec.Compression
	if !c.valid() {
		return nil, fmt.Errorf("build batch: unknown compression codec %d: %w", int8(c), ErrInvalidRecord)
	}
	if len(records) == 0 {
		c = None
	}
	if len(records) > math.MaxInt32 {
		return nil, fmt.Errorf("build batch: %d records: %w", len(records), ErrInvalidRecord)
	}
	rawSize := 0
	maxTS := spec.BaseTimestamp
	for i := range records {
		r := &records[i]
		if r.OffsetDelta < 0 || (i > 0 && r.OffsetDelta <= records[i-1].OffsetDelta) {
			return nil, fmt.Errorf("build batch: record %d has offsetDelta %d after %d: %w",
				i, r.OffsetDelta, prevDelta(records, i), ErrInvalidRecord)
		}
		maxTS = max(maxTS, spec.BaseTimestamp+r.TimestampDelta)
		rawSize += recordSize(r)
	}
	if rawSize > math.MaxInt32-minBatchLength {
		return nil, fmt.Errorf("build batch: records encode to %d bytes: %w", rawSize, ErrInvalidRecord)
	}

	var out []byte
	if c == None {
		out = make([]byte, HeaderSize, HeaderSize+rawSize)
		for i := range records {
			out = appendRecord(out, &records[i])
		}
	} else {
		scratch := getScratch()
		defer putScratch(scratch)
		raw := *scratch
		for i := range records {
			raw = appendRecord(raw, &records[i])
		}
		*scratch = raw
		var err error
		// The compressed size is unknown; a quarter of the input is a fair first guess.
		if out, err = compress(make([]byte, HeaderSize, HeaderSize+rawSize/4+64), c, raw); err != nil {
			return nil, fmt.Errorf("build batch: %w", err)
		}
	}
	if len(out)-offPartitionLeaderEpoch > math.MaxInt32 {
		return nil, fmt.Errorf("build batch: %d bytes compressed: %w", len(out), ErrInvalidRecord)
	}

	lastDelta := int32(0)
	if len(records) > 0 {
		lastDelta = records[len(records)-1].OffsetDelta
	}
	if spec.MaxTimestamp != 0 {
		maxTS = spec.MaxTimestamp
	}
	be := binary.BigEndian
	be.PutUint64(out[offBaseOffset:], uint64(spec.BaseOffset))
	be.PutUint32(out[offBatchLength:], uint32(len(out)-offPartitionLeaderEpoch))
	be.PutUint32(out[offPartitionLeaderEpoch:], uint32(spec.PartitionLeaderEpoch))
	out[offMagic] = MagicV2
	be.PutUint16(out[offAttributes:], uint16(spec.Attributes&^AttrCompressionMask|int16(c)))
	be.PutUint32(out[offLastOffsetDelta:], uint32(lastDelta))
	be.PutUint64(out[offBaseTimestamp:], uint64(spec.BaseTimestamp))
	be.PutUint64(out[offMaxTimestamp:], uint64(maxTS))
	be.PutUint64(out[offProducerID:], uint64(spec.ProducerID))
	be.PutUint16(out[offProducerEpoch:], uint16(spec.ProducerEpoch))
	be.PutUint32(out[offBaseSequence:], uint32(spec.BaseSequence))
	be.PutUint32(out[offRecordCount:], uint32(len(records)))
	setCRC(out)
	return out, nil
}

// prevDelta is the offset delta before record i, for error messages.
func prevDelta(records []Record, i int) int32 {
	if i == 0 {
		return -1
	}
	return records[i-1].OffsetDelta
}
