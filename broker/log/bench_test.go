package log

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/tributary-io/tributary/broker/record"
)

// Storage benchmarks. Each log benchmark has a raw-file twin that moves the
// same bytes with plain os.File calls on the same disk, so the ratio shows what
// the log costs over the file system: Append (validate, stamp, index, one
// pwrite per 16 KiB batch) against one write per batch; Read (index lookup,
// header walk, then reading the returned regions as a fetch would) against
// ReadAt of 1 MiB chunks.

// benchBatchBytes is the producer batch size of the benchmarks.
const benchBatchBytes = 16 << 10

// benchReadBytes is how much one read asks for, like a fetch's partition max bytes.
const benchReadBytes = 1 << 20

// benchPrefill is how much the read benchmarks read over and over.
const benchPrefill = 64 << 20

var benchSizes = []struct {
	name  string
	value int
}{{"100B", 100}, {"1KiB", 1024}}

// benchBatch builds one uncompressed batch of about 16 KiB of records with
// values of the given size.
func benchBatch(tb testing.TB, valueSize int) []byte {
	tb.Helper()
	value := bytes.Repeat([]byte{'x'}, valueSize)
	var recs []record.Record
	for size := record.HeaderSize; ; {
		r := record.Record{OffsetDelta: int32(len(recs)), Key: fmt.Appendf(nil, "key-%06d", len(recs)), Value: value}
		size += valueSize + 20
		if size > benchBatchBytes {
			break
		}
		recs = append(recs, r)
	}
	b, err := record.Build(record.BatchSpec{BaseTimestamp: 1_700_000_000_000, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}, recs)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func benchConfig() Config {
	c := DefaultConfig()
	c.RetentionMs = -1
	return c
}

func BenchmarkAppend(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			batch := benchBatch(b, sz.value)
			l, err := Open(b.TempDir(), benchConfig(), WithLogger(quietLogger()))
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				b.StopTimer() // Close fsyncs what was written; that is not what is measured
				l.Close()
			}()
			b.SetBytes(int64(len(batch)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				// Append patches the header in place; the same buffer stays a
				// valid producer batch (baseOffset and epoch are outside the CRC).
				if _, err := l.Append(batch, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRawFileWrite(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			batch := benchBatch(b, sz.value)
			f, err := os.Create(filepath.Join(b.TempDir(), "raw"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			b.SetBytes(int64(len(batch)))
			b.ResetTimer()
			for range b.N {
				if _, err := f.Write(batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchChunk is what one read returns: the whole batches that fit in benchReadBytes.
func benchChunk(batch []byte) int64 {
	return int64(benchReadBytes/len(batch)) * int64(len(batch))
}

func BenchmarkRead(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			batch := benchBatch(b, sz.value)
			chunk := benchChunk(batch)
			l, err := Open(b.TempDir(), benchConfig(), WithLogger(quietLogger()))
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				b.StopTimer() // Close fsyncs what was written; that is not what is measured
				l.Close()
			}()
			for l.Size() < benchPrefill/chunk*chunk {
				if _, err := l.Append(batch, 1); err != nil {
					b.Fatal(err)
				}
			}
			end := l.EndOffset()
			buf := make([]byte, 0, benchReadBytes)
			b.SetBytes(chunk)
			b.ReportAllocs()
			b.ResetTimer()
			next := int64(0)
			for range b.N {
				if next >= end {
					next = 0
				}
				res, err := l.Read(next, benchReadBytes, end, true)
				if err != nil {
					b.Fatal(err)
				}
				if buf, err = res.AppendBytes(buf[:0]); err != nil {
					b.Fatal(err)
				}
				res.Release()
				if res.Size != chunk {
					b.Fatalf("read %d bytes, want %d", res.Size, chunk)
				}
				next = res.NextOffset
			}
		})
	}
}

func BenchmarkRawFileRead(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			batch := benchBatch(b, sz.value)
			chunk := benchChunk(batch)
			f, err := os.Create(filepath.Join(b.TempDir(), "raw"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			var size int64
			for size < benchPrefill/chunk*chunk {
				if _, err := f.Write(batch); err != nil {
					b.Fatal(err)
				}
				size += int64(len(batch))
			}
			buf := make([]byte, chunk)
			b.SetBytes(chunk)
			b.ResetTimer()
			for i := range b.N {
				if _, err := f.ReadAt(buf, int64(i)*chunk%size); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
