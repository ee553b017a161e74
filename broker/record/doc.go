// Package record owns the Kafka RecordBatch v2 format ("magic 2"): parsing and
// validating the 61-byte batch header, checking CRC-32C, patching the fields the
// broker assigns (base offset, partition leader epoch, log-append time), decoding
// the records inside a batch (decompressing gzip, snappy, lz4 and zstd) and building
// new batches (control batches, compaction output, tests).
//
// The broker stores batches exactly as producers sent them. Only the fields outside
// the CRC (baseOffset, batchLength, partitionLeaderEpoch, magic, crc) are patched in
// place on the append path, so the hot path never decompresses or re-encodes. Records
// are decoded only where they must be read: record-count validation, compaction,
// producer-state rebuild and pipelines.
//
// Layout of a batch (big endian):
//
//	baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 | magic int8 |
//	crc uint32 | attributes int16 | lastOffsetDelta int32 | baseTimestamp int64 |
//	maxTimestamp int64 | producerId int64 | producerEpoch int16 | baseSequence int32 |
//	recordCount int32 | records...
//
// The CRC-32C (Castagnoli) covers everything from attributes to the end of the batch.
//
// This package imports nothing of Tributary's; it must stay a leaf.
package record
