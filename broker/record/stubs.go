package record

// STUBS: the record helper replaces this file with real implementations in
// header.go, records.go, compress.go, build.go. Signatures are the contract.

// Size is the whole batch size in bytes: 12 + BatchLength.
func (h Header) Size() int { panic("unimplemented") }

// LastOffset is BaseOffset + LastOffsetDelta.
func (h Header) LastOffset() int64 { panic("unimplemented") }

// Compression returns the codec from the attributes.
func (h Header) Compression() Compression { panic("unimplemented") }

// IsTransactional reports the transactional attribute bit.
func (h Header) IsTransactional() bool { panic("unimplemented") }

// IsControl reports the control attribute bit.
func (h Header) IsControl() bool { panic("unimplemented") }

// LogAppendTime reports whether the timestamp type is LogAppendTime.
func (h Header) LogAppendTime() bool { panic("unimplemented") }

// ParseHeader decodes the header at the start of b without checking the CRC.
// It fails with ErrTooShort when len(b) < HeaderSize, ErrUnsupportedMagic for a
// magic other than 2, and ErrCorrupt when batchLength is below the v2 minimum (49).
func ParseHeader(b []byte) (Header, error) { panic("unimplemented") }

// Validate checks that b is exactly one whole batch: magic 2, a consistent length
// (ErrTooShort / ErrCorrupt when len(b) != 12+batchLength), a matching CRC-32C
// (ErrCRC), recordCount >= 0 and lastOffsetDelta consistent with a non-empty batch.
// It does not decompress.
func Validate(b []byte) (Header, error) { panic("unimplemented") }

// ValidateRecords decodes (decompressing if needed) every record of the batch in b
// and checks the count equals NumRecords and offset deltas are increasing and end at
// LastOffsetDelta. It returns ErrInvalidRecord (wrapped) on disagreement.
func ValidateRecords(b []byte) error { panic("unimplemented") }

// Next splits the first batch off a concatenation of batches. It returns the batch,
// the rest, and an error when the header is invalid. When buf holds only part of a
// batch it returns ErrTooShort: callers reading a log tail treat that as a torn write.
func Next(buf []byte) (batch []byte, rest []byte, h Header, err error) {
	panic("unimplemented")
}

// SetBaseOffset writes baseOffset in place (outside the CRC).
func SetBaseOffset(b []byte, off int64) { panic("unimplemented") }

// SetPartitionLeaderEpoch writes partitionLeaderEpoch in place (outside the CRC).
func SetPartitionLeaderEpoch(b []byte, epoch int32) { panic("unimplemented") }

// SetLogAppendTime sets the LogAppendTime attribute and maxTimestamp to ts, and
// recomputes the CRC, as Kafka does when a topic uses message.timestamp.type=LogAppendTime.
func SetLogAppendTime(b []byte, ts int64) { panic("unimplemented") }

// Records decodes every record of the batch, decompressing as needed. The returned
// slices may alias b (uncompressed) or a fresh buffer (compressed).
func Records(b []byte) ([]Record, error) { panic("unimplemented") }

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
func Build(spec BatchSpec, records []Record) ([]byte, error) { panic("unimplemented") }
