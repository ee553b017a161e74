package log

import "testing"

// BenchmarkReadLocate measures what a sendfile fetch asks of the log: find the
// regions of 1 MiB of whole batches (index lookup and batch-header reads),
// without reading the records themselves, which sendfile moves in the kernel.
// "tail" is a caught-up consumer asking for the newest 16 KiB batch.
func BenchmarkReadLocate(b *testing.B) {
	batch := benchBatch(b, 1024)
	l, err := Open(b.TempDir(), benchConfig(), WithLogger(quietLogger()))
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		b.StopTimer()
		l.Close()
	}()
	for l.Size() < 32<<20 {
		if _, err := l.Append(append([]byte(nil), batch...), 1); err != nil {
			b.Fatal(err)
		}
	}
	end := l.EndOffset()
	perBatch := end / (l.Size() / int64(len(batch)))
	for _, c := range []struct {
		name     string
		maxBytes int64
		from     func(i int) int64
	}{
		{"1MiB", benchReadBytes, func(i int) int64 { return int64(i%16) * (end / 16) }},
		{"tail", benchReadBytes, func(int) int64 { return end - perBatch }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := range b.N {
				res, err := l.Read(c.from(i), c.maxBytes, end, true)
				if err != nil {
					b.Fatal(err)
				}
				if res.Size == 0 {
					b.Fatalf("read at %d returned nothing", c.from(i))
				}
				res.Release()
			}
		})
	}
}
