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
// The append path a caller writes:
//
//	for len(buf) > 0 {
//		batch, rest, h, err := record.Next(buf) // header only; ErrTooShort = torn tail
//		_, err = record.Validate(batch)         // length, CRC, counts
//		err = record.ValidateRecords(batch)     // only where records must be checked
//		record.SetBaseOffset(batch, next)       // outside the CRC
//		record.SetPartitionLeaderEpoch(batch, epoch)
//		buf = rest
//	}
//
// Errors are the sentinels in api.go, wrapped with context (batch offset, field);
// classify them with errors.Is. Decompression is capped at MaxDecompressedSize
// per batch. The only package-level state is the immutable CRC table and
// sync.Pools caching codec state and scratch buffers, which hold nothing between
// calls; the package starts no goroutines.
//
// This package imports nothing of Tributary's; it must stay a leaf.
package record
