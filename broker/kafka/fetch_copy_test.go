package kafka

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"
)

// TestWriteSplicedCopiesSmallFrames checks frames whose regions are small enough
// to be copied rather than spliced arrive byte for byte, one after another on
// one connection, so a recycled copy buffer never leaks bytes between frames.
func TestWriteSplicedCopiesSmallFrames(t *testing.T) {
	rf := newRegionFile(t)
	rng := rand.New(rand.NewPCG(3, 4))
	sizes := []int{1, 100, 16 << 10, copyBelowBytes - 200, 10}
	var frames []*outFrame
	var want []byte
	for i, n := range sizes {
		rr := rf.read(t, randomBytes(rng, n), 1)
		f := &outFrame{buf: []byte{'h', byte('0' + i)}}
		f.segs = append(f.segs, segment{at: len(f.buf), region: rr.Regions[0]})
		f.buf = append(f.buf, 't')
		if f.regionBytes() > copyBelowBytes {
			t.Fatalf("frame %d has %d region bytes, more than the copy threshold", i, f.regionBytes())
		}
		b, err := f.appendBytes(nil)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, b...)
		frames = append(frames, f)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		defer server.Close()
		for _, f := range frames {
			if err := writeSpliced(server, f); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	_ = client.SetReadDeadline(time.Now().Add(30 * time.Second))
	got, err := io.ReadAll(client)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("received %d bytes differing from the %d expected", len(got), len(want))
	}
}

// BenchmarkWriteSmallFetch measures writing one fetch frame holding a batch of
// size bytes over loopback TCP, as a consumer that keeps up sees it: frames up
// to copyBelowBytes take the copy path, larger ones sendfile.
func BenchmarkWriteSmallFetch(b *testing.B) {
	for _, size := range []int{4 << 10, 16 << 10, 60 << 10, 256 << 10} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			t := &testing.T{}
			rf := newRegionFile(t)
			rr := rf.read(t, randomBytes(rand.New(rand.NewPCG(1, 1)), size), 1)
			f := &outFrame{buf: make([]byte, 120)}
			f.segs = []segment{{at: 100, region: rr.Regions[0]}}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			client, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer client.Close()
			server, err := ln.Accept()
			if err != nil {
				b.Fatal(err)
			}
			go func() { _, _ = io.Copy(io.Discard, client) }()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if err := writeSpliced(server, f); err != nil {
					b.Fatal(err)
				}
			}
			server.Close()
		})
	}
}
