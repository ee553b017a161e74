package record

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The helpers here build and read batches with franz-go's kmsg encoder and the
// compression libraries called directly, independently of the package's own
// encoder, so tests can cross-check the two.

// allCodecs lists every codec, for parameter matrices.
var allCodecs = []Compression{None, Gzip, Snappy, LZ4, Zstd}

// kafkaRecords encodes recs with kmsg.Record into an uncompressed record array.
func kafkaRecords(t testing.TB, recs []kmsg.Record) []byte {
	t.Helper()
	var out []byte
	for _, r := range recs {
		// The length prefix counts the bytes after itself: encode once with a
		// zero length (one varint byte) to measure the body.
		r.Length = 0
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		out = r.AppendTo(out)
	}
	return out
}

// kafkaBatch wraps a (possibly compressed) record array in a kmsg.RecordBatch with
// a correct length and CRC-32C.
func kafkaBatch(rb kmsg.RecordBatch, payload []byte) []byte {
	rb.Magic = 2
	rb.Records = payload
	rb.Length = int32(49 + len(payload))
	rb.CRC = 0
	b := rb.AppendTo(nil)
	rb.CRC = int32(crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return rb.AppendTo(nil)
}

// rawBatch wraps an uncompressed record array with the given count and last
// offset delta; the CRC is valid so only the record checks can fail.
func rawBatch(c Compression, count, lastDelta int32, payload []byte) []byte {
	return kafkaBatch(kmsg.RecordBatch{
		Attributes:      int16(c),
		LastOffsetDelta: lastDelta,
		ProducerID:      -1,
		ProducerEpoch:   -1,
		FirstSequence:   -1,
		NumRecords:      count,
	}, payload)
}

// refCompress compresses src with c the way a client library does, calling the
// compression libraries directly. Snappy is one raw block, as franz-go sends it.
func refCompress(t testing.TB, c Compression, src []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch c {
	case None:
		return src
	case Gzip:
		w := gzip.NewWriter(&buf)
		mustWrite(t, w, src)
	case Snappy:
		return s2.EncodeSnappy(nil, src)
	case LZ4:
		w := lz4.NewWriter(&buf)
		mustWrite(t, w, src)
	case Zstd:
		enc, err := zstd.NewWriter(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer enc.Close()
		return enc.EncodeAll(src, nil)
	default:
		t.Fatalf("no reference encoder for %v", c)
	}
	return buf.Bytes()
}

// mustWrite writes src to a stream compressor and closes it.
func mustWrite(t testing.TB, w io.WriteCloser, src []byte) {
	t.Helper()
	if _, err := w.Write(src); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// xerialSnappy frames src the way snappy-java (the Java client) does: the magic,
// version 1, compatible version 1, then chunks of at most chunk bytes, each a
// big-endian length and a raw snappy block.
func xerialSnappy(src []byte, chunk int) []byte {
	out := append([]byte(nil), xerialMagic...)
	out = binary.BigEndian.AppendUint32(out, 1)
	out = binary.BigEndian.AppendUint32(out, 1)
	for len(src) > 0 {
		n := min(chunk, len(src))
		block := s2.EncodeSnappy(nil, src[:n])
		out = binary.BigEndian.AppendUint32(out, uint32(len(block)))
		out = append(out, block...)
		src = src[n:]
	}
	return out
}

// refDecompress inflates src with the libraries directly, for checking Build.
func refDecompress(t testing.TB, c Compression, src []byte) []byte {
	t.Helper()
	var r io.Reader
	switch c {
	case None:
		return src
	case Gzip:
		zr, err := gzip.NewReader(bytes.NewReader(src))
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	case Snappy:
		out, err := s2.Decode(nil, src)
		if err != nil {
			t.Fatal(err)
		}
		return out
	case LZ4:
		r = lz4.NewReader(bytes.NewReader(src))
	case Zstd:
		dec, err := zstd.NewReader(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer dec.Close()
		out, err := dec.DecodeAll(src, nil)
		if err != nil {
			t.Fatal(err)
		}
		return out
	default:
		t.Fatalf("no reference decoder for %v", c)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reference %v decode: %v", c, err)
	}
	return out
}

// splitKafkaRecords decodes an uncompressed record array with kmsg.Record.
func splitKafkaRecords(t testing.TB, b []byte) []kmsg.Record {
	t.Helper()
	var out []kmsg.Record
	for len(b) > 0 {
		n, used := binary.Varint(b)
		if used <= 0 || int(n) > len(b)-used {
			t.Fatalf("bad record length prefix at %d bytes left", len(b))
		}
		end := used + int(n)
		var r kmsg.Record
		if err := r.ReadFrom(b[:end]); err != nil {
			t.Fatalf("kmsg.Record.ReadFrom: %v", err)
		}
		out = append(out, r)
		b = b[end:]
	}
	return out
}

// sampleRecords returns n records mixing null and empty keys and values, headers
// (with null and empty values) and gaps in the offset deltas.
func sampleRecords(n int) []Record {
	recs := make([]Record, n)
	delta := int32(0)
	for i := range recs {
		r := Record{OffsetDelta: delta, TimestampDelta: int64(i * 7 % 13)}
		switch i % 5 {
		case 0:
			r.Key, r.Value = nil, nil
		case 1:
			r.Key, r.Value = []byte{}, []byte{}
		case 2:
			r.Key, r.Value = []byte(fmt.Sprintf("key-%d", i)), bytes.Repeat([]byte{byte(i)}, 300)
		case 3:
			r.Key, r.Value = nil, []byte(fmt.Sprintf("value-%d", i))
			r.Headers = []RecordHeader{{Key: "a", Value: []byte("1")}, {Key: "", Value: nil}, {Key: "c", Value: []byte{}}}
		case 4:
			r.Key = []byte("k")
			r.Value = []byte("v")
			r.Headers = []RecordHeader{{Key: "trace", Value: []byte(fmt.Sprintf("id-%d", i))}}
			r.Attributes = 0
		}
		recs[i] = r
		delta += 1 + int32(i%3) // gaps of 0, 1 and 2
	}
	return recs
}

// toKafka converts records to kmsg records.
func toKafka(recs []Record) []kmsg.Record {
	out := make([]kmsg.Record, len(recs))
	for i, r := range recs {
		k := kmsg.Record{
			Attributes:       r.Attributes,
			TimestampDelta64: r.TimestampDelta,
			TimestampDelta:   int32(r.TimestampDelta),
			OffsetDelta:      r.OffsetDelta,
			Key:              r.Key,
			Value:            r.Value,
		}
		for _, h := range r.Headers {
			k.Headers = append(k.Headers, kmsg.Header{Key: h.Key, Value: h.Value})
		}
		out[i] = k
	}
	return out
}

// fromKafka converts kmsg records to records, keeping nil versus empty.
func fromKafka(recs []kmsg.Record) []Record {
	out := make([]Record, len(recs))
	for i, k := range recs {
		r := Record{
			Attributes:     k.Attributes,
			TimestampDelta: k.TimestampDelta64,
			OffsetDelta:    k.OffsetDelta,
			Key:            k.Key,
			Value:          k.Value,
		}
		for _, h := range k.Headers {
			r.Headers = append(r.Headers, RecordHeader{Key: h.Key, Value: h.Value})
		}
		out[i] = r
	}
	return out
}
