package record

import (
	"bytes"
	"fmt"
	"reflect"
	"sync"
	"testing"
)

// batchOf100ByteRecords builds a batch of records with 100-byte values until the
// uncompressed records reach size bytes. It returns the batch and the raw size.
func batchOf100ByteRecords(tb testing.TB, c Compression, size int) ([]byte, int) {
	tb.Helper()
	var recs []Record
	raw := 0
	for i := 0; raw < size; i++ {
		// Mildly compressible values, like JSON logs.
		v := []byte(fmt.Sprintf(`{"seq":%08d,"level":"info","msg":"request served","ms":%04d,"ok":true}`, i, i%997))
		v = append(v, bytes.Repeat([]byte{'.'}, 100-len(v))...)
		recs = append(recs, Record{OffsetDelta: int32(i), TimestampDelta: int64(i), Value: v})
		raw += recordSize(&recs[len(recs)-1])
	}
	b, err := Build(BatchSpec{Compression: c, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}, recs)
	if err != nil {
		tb.Fatal(err)
	}
	return b, raw
}

// BenchmarkValidate measures the produce-path checks, Validate then
// ValidateRecords, on a 16 KiB batch of 100-byte records. Bytes/s are counted
// on the uncompressed records.
func BenchmarkValidate(b *testing.B) {
	for _, c := range []Compression{None, Zstd} {
		b.Run(c.String(), func(b *testing.B) {
			batch, raw := batchOf100ByteRecords(b, c, 16<<10)
			b.SetBytes(int64(raw))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Validate(batch); err != nil {
					b.Fatal(err)
				}
				if err := ValidateRecords(batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestConcurrentCodecs runs Build, ValidateRecords and Records for every codec
// from several goroutines at once, so the race detector sees the shared pools
// used concurrently.
func TestConcurrentCodecs(t *testing.T) {
	const workers, rounds = 4, 20
	want := sampleRecords(30)
	var wg sync.WaitGroup
	errs := make(chan error, workers*len(allCodecs))
	for w := range workers {
		for _, c := range allCodecs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range rounds {
					b, err := Build(BatchSpec{BaseOffset: int64(w*1000 + i), Compression: c}, want)
					if err == nil {
						err = ValidateRecords(b)
					}
					var got []Record
					if err == nil {
						got, err = Records(b)
					}
					if err == nil && !reflect.DeepEqual(got, want) {
						err = fmt.Errorf("decoded records differ from the %d built", len(want))
					}
					if err != nil {
						errs <- fmt.Errorf("worker %d %v round %d: %w", w, c, i, err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
