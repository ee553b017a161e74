package perf

import (
	"context"
	"os"
	"testing"
)

func TestLimitsMoveTheBytes(t *testing.T) {
	const total = 3<<20 + 123
	cases := []struct {
		name      string
		chunk     int
		syncEvery int64
	}{
		{"16 KiB writes, no fsync", 16 << 10, 0},
		{"odd chunks, fsync every MiB", 10000, 1 << 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w, path, err := FileWrite(t.TempDir(), total, c.chunk, c.syncEvery)
			if err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(path)
			if err != nil || st.Size() != total || w.Bytes != total || w.MBPerSec <= 0 {
				t.Fatalf("file write: %+v, file %v (%v), want %d bytes", w, st, err, total)
			}
			r, err := FileRead(path, 1<<20)
			if err != nil || r.Bytes != total || r.MBPerSec <= 0 {
				t.Fatalf("file read: %+v, %v", r, err)
			}
		})
	}
	tcp, err := TCPCopy(context.Background(), total, 64<<10)
	if err != nil || tcp.Bytes != total || tcp.MBPerSec <= 0 {
		t.Fatalf("tcp copy: %+v, %v", tcp, err)
	}
	if _, _, err := FileWrite(t.TempDir(), 0, 1, 0); err == nil {
		t.Error("file write of 0 bytes did not fail")
	}
}
