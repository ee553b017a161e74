package record

import (
	"bytes"
	"errors"
	"hash/crc32"
	"reflect"
	"testing"

	"github.com/klauspost/compress/s2"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestReadKafkaBatches decodes batches encoded by franz-go's kmsg and compressed
// with the codec libraries called directly, as a client would send them.
func TestReadKafkaBatches(t *testing.T) {
	want := sampleRecords(50)
	raw := kafkaRecords(t, toKafka(want))
	payloads := map[string]struct {
		codec   Compression
		payload []byte
	}{
		"none":                 {None, raw},
		"gzip":                 {Gzip, refCompress(t, Gzip, raw)},
		"snappy raw block":     {Snappy, refCompress(t, Snappy, raw)},
		"snappy xerial 1 KiB":  {Snappy, xerialSnappy(raw, 1024)},
		"snappy xerial 32 KiB": {Snappy, xerialSnappy(raw, 32<<10)},
		"lz4":                  {LZ4, refCompress(t, LZ4, raw)},
		"zstd":                 {Zstd, refCompress(t, Zstd, raw)},
	}
	for name, p := range payloads {
		t.Run(name, func(t *testing.T) {
			rb := kmsg.RecordBatch{
				FirstOffset: 500, PartitionLeaderEpoch: 4, Attributes: int16(p.codec) | AttrTransactional,
				LastOffsetDelta: want[len(want)-1].OffsetDelta, FirstTimestamp: 1_700_000_000_000,
				MaxTimestamp: 1_700_000_000_012, ProducerID: 11, ProducerEpoch: 2, FirstSequence: 30,
				NumRecords: int32(len(want)),
			}
			b := kafkaBatch(rb, p.payload)
			h, err := Validate(b)
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			wantHeader := Header{
				BaseOffset: 500, BatchLength: int32(len(b) - 12), PartitionLeaderEpoch: 4, Magic: 2,
				CRC: h.CRC, Attributes: rb.Attributes, LastOffsetDelta: rb.LastOffsetDelta,
				BaseTimestamp: rb.FirstTimestamp, MaxTimestamp: rb.MaxTimestamp, ProducerID: 11,
				ProducerEpoch: 2, BaseSequence: 30, NumRecords: int32(len(want)),
			}
			if h != wantHeader {
				t.Fatalf("header %+v\nwant   %+v", h, wantHeader)
			}
			if ph, err := ParseHeader(b); err != nil || ph != h {
				t.Fatalf("ParseHeader = %+v, %v", ph, err)
			}
			if err := ValidateRecords(b); err != nil {
				t.Fatalf("ValidateRecords: %v", err)
			}
			got, err := Records(b)
			if err != nil {
				t.Fatalf("Records: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("records differ from what kmsg encoded")
			}
		})
	}
}

// TestBuildReadByKafka checks that franz-go's kmsg decodes what Build writes, for
// every codec, with the fields a kgo consumer reads.
func TestBuildReadByKafka(t *testing.T) {
	want := sampleRecords(60)
	for _, c := range allCodecs {
		t.Run(c.String(), func(t *testing.T) {
			spec := BatchSpec{
				BaseOffset: 77, PartitionLeaderEpoch: 6, Compression: c, Attributes: AttrControl | AttrTransactional,
				BaseTimestamp: 1_650_000_000_000, ProducerID: 123, ProducerEpoch: 4, BaseSequence: 9,
			}
			b, err := Build(spec, want)
			if err != nil {
				t.Fatal(err)
			}
			var rb kmsg.RecordBatch
			if err := rb.ReadFrom(b); err != nil {
				t.Fatalf("kmsg.RecordBatch.ReadFrom: %v", err)
			}
			crc := crc32c(b[21:])
			if rb.FirstOffset != 77 || rb.Length != int32(len(b)-12) || rb.PartitionLeaderEpoch != 6 ||
				rb.Magic != 2 || uint32(rb.CRC) != crc || rb.Attributes != int16(c)|AttrControl|AttrTransactional ||
				rb.LastOffsetDelta != want[len(want)-1].OffsetDelta || rb.FirstTimestamp != spec.BaseTimestamp ||
				rb.MaxTimestamp != spec.BaseTimestamp+12 || rb.ProducerID != 123 || rb.ProducerEpoch != 4 ||
				rb.FirstSequence != 9 || rb.NumRecords != int32(len(want)) {
				t.Fatalf("kmsg header fields %+v (crc %#x)", rb, crc)
			}
			got := fromKafka(splitKafkaRecords(t, refDecompress(t, c, rb.Records)))
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("kmsg decoded different records")
			}
		})
	}
}

// TestDecompressionBombs checks that a batch inflating past MaxDecompressedSize
// fails with ErrInvalidRecord for every codec instead of exhausting memory.
func TestDecompressionBombs(t *testing.T) {
	// One record whose value is 1 MiB of zeros, compressed well; a batch of 65 of
	// them inflates just past the limit. Repeating frames (gzip members, zstd
	// frames, xerial blocks) keeps building the input cheap.
	rec := kafkaRecords(t, []kmsg.Record{{Value: make([]byte, 1<<20)}})
	copies := MaxDecompressedSize/len(rec) + 1
	bigRaw := bytes.Repeat(rec, copies)
	bombs := map[string]struct {
		codec   Compression
		payload []byte
	}{
		"gzip members":   {Gzip, bytes.Repeat(refCompress(t, Gzip, rec), copies)},
		"zstd frames":    {Zstd, bytes.Repeat(refCompress(t, Zstd, rec), copies)},
		"zstd one frame": {Zstd, refCompress(t, Zstd, bigRaw)},
		"lz4 frame":      {LZ4, refCompress(t, LZ4, bigRaw)},
		"snappy block":   {Snappy, s2.EncodeSnappy(nil, bigRaw)},
		"xerial blocks":  {Snappy, xerialSnappy(bigRaw, 1<<20)},
		// A raw block header claiming 1 GiB, with no data behind it.
		"snappy declared size": {Snappy, []byte{0x80, 0x80, 0x80, 0x80, 0x04}},
	}
	for name, bomb := range bombs {
		t.Run(name, func(t *testing.T) {
			b := rawBatch(bomb.codec, int32(copies), int32(copies-1), bomb.payload)
			if err := ValidateRecords(b); !errors.Is(err, ErrInvalidRecord) {
				t.Fatalf("ValidateRecords: %v, want ErrInvalidRecord", err)
			}
			if _, err := Records(b); !errors.Is(err, ErrInvalidRecord) {
				t.Fatalf("Records: %v, want ErrInvalidRecord", err)
			}
		})
	}
}

// crc32c is the reference CRC-32C, computed with a table built here rather than
// the package's own.
func crc32c(b []byte) uint32 {
	return crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))
}
