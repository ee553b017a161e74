package record

// This file is the package's contract. Implementations live in the other files.

import "errors"

// HeaderSize is the size of the fixed RecordBatch v2 header.
const HeaderSize = 61

// MagicV2 is the only message format the broker accepts.
const MagicV2 = 2

// MaxDecompressedSize caps the decompressed size of one batch's records. A batch
// that inflates beyond it fails with ErrInvalidRecord, so a few kilobytes of
// hostile input cannot make the broker allocate gigabytes. 64 MiB is far above
// Kafka's default message.max.bytes (1 MiB) times any realistic compression ratio.
const MaxDecompressedSize = 64 << 20

// Offsets of header fields, for in-place patches.
const (
	offBaseOffset           = 0
	offBatchLength          = 8
	offPartitionLeaderEpoch = 12
	offMagic                = 16
	offCRC                  = 17
	offAttributes           = 21
	offLastOffsetDelta      = 23
	offBaseTimestamp        = 27
	offMaxTimestamp         = 35
	offProducerID           = 43
	offProducerEpoch        = 51
	offBaseSequence         = 53
	offRecordCount          = 57
)

// Compression is the codec in attribute bits 0-2.
type Compression int8

// Compression codecs, with Kafka's numbering.
const (
	None   Compression = 0
	Gzip   Compression = 1
	Snappy Compression = 2
	LZ4    Compression = 3
	Zstd   Compression = 4
)

// Attribute bits.
const (
	AttrCompressionMask int16 = 0x07
	AttrLogAppendTime   int16 = 0x08 // timestamp type: 1 = LogAppendTime
	AttrTransactional   int16 = 0x10
	AttrControl         int16 = 0x20
	AttrDeleteHorizon   int16 = 0x40 // baseTimestamp holds the delete horizon (KIP-534)
)

// Errors. Callers classify with errors.Is; the Kafka layer maps them to error codes
// (ErrCorrupt and ErrCRC → CORRUPT_MESSAGE, ErrUnsupportedMagic →
// UNSUPPORTED_FOR_MESSAGE_FORMAT, ErrInvalidRecord → INVALID_RECORD).
var (
	// ErrTooShort means fewer bytes than a header, or than batchLength says.
	ErrTooShort = errors.New("record: batch truncated")
	// ErrCorrupt means a structurally invalid batch (bad length, bad varints, trailing bytes).
	ErrCorrupt = errors.New("record: corrupt batch")
	// ErrCRC means the stored CRC-32C does not match the batch contents.
	ErrCRC = errors.New("record: CRC-32C mismatch")
	// ErrUnsupportedMagic means a message format other than v2.
	ErrUnsupportedMagic = errors.New("record: unsupported magic")
	// ErrInvalidRecord means the records disagree with the header (count, offset deltas)
	// or use an unknown compression codec.
	ErrInvalidRecord = errors.New("record: invalid record")
)

// Header is the decoded fixed header of a RecordBatch v2.
type Header struct {
	BaseOffset           int64
	BatchLength          int32 // bytes after the batchLength field
	PartitionLeaderEpoch int32
	Magic                int8
	CRC                  uint32
	Attributes           int16
	LastOffsetDelta      int32
	BaseTimestamp        int64
	MaxTimestamp         int64
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	NumRecords           int32
}

// Record is one decoded record. Key and Value are nil when null on the wire.
type Record struct {
	Attributes     int8
	TimestampDelta int64
	OffsetDelta    int32
	Key            []byte
	Value          []byte
	Headers        []RecordHeader
}

// RecordHeader is one record header.
type RecordHeader struct {
	Key   string
	Value []byte
}
