package kafka

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"
)

// TestWriteSplicedOverTCP sends frames whose regions share one file from several
// connections at once, with regions larger than the socket buffers (so sendfile
// has to wait for the reader), and checks every reader gets exactly the bytes
// the in-memory path would produce.
func TestWriteSplicedOverTCP(t *testing.T) {
	rf := newRegionFile(t)
	rng := rand.New(rand.NewPCG(9, 9))
	big := rf.read(t, randomBytes(rng, 8<<20), 3)
	small := rf.read(t, randomBytes(rng, 1000), 1)
	frameFor := func(i int) *outFrame {
		// header | big regions | middle | small region | tail
		f := &outFrame{buf: []byte("header-" + string(rune('a'+i)))}
		for _, reg := range big.Regions {
			f.segs = append(f.segs, segment{at: len(f.buf), region: reg})
		}
		f.buf = append(f.buf, "middle"...)
		f.segs = append(f.segs, segment{at: len(f.buf), region: small.Regions[0]})
		f.buf = append(f.buf, "tail"...)
		return f
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const conns = 3
	var wg sync.WaitGroup
	errs := make(chan error, 2*conns)
	for i := range conns {
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		server, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		f := frameFor(i)
		want, err := f.appendBytes(nil)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			defer server.Close()
			if err := writeSpliced(server, f); err != nil {
				errs <- err
			}
		}()
		go func() {
			defer wg.Done()
			defer client.Close()
			_ = client.SetReadDeadline(time.Now().Add(30 * time.Second))
			// Read slowly at first so the socket buffers fill and sendfile blocks.
			head := make([]byte, 64<<10)
			if _, err := io.ReadFull(client, head); err != nil {
				errs <- err
				return
			}
			time.Sleep(50 * time.Millisecond) // keeps the writer blocked for a while; the check below does not depend on it
			rest, err := io.ReadAll(client)
			if err != nil {
				errs <- err
				return
			}
			if got := append(head, rest...); !bytes.Equal(got, want) {
				errs <- io.ErrShortWrite
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestWriteSplicedFallsBackWithoutTCP checks the in-memory path on a pipe.
func TestWriteSplicedFallsBackWithoutTCP(t *testing.T) {
	rf := newRegionFile(t)
	rr := rf.read(t, []byte("0123456789"), 2)
	f := &outFrame{buf: []byte("ab"), segs: []segment{{at: 1, region: rr.Regions[0]}, {at: 2, region: rr.Regions[1]}}}
	client, server := net.Pipe()
	done := make(chan error, 1)
	go func() { done <- writeSpliced(server, f); server.Close() }()
	got, err := io.ReadAll(client)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if string(got) != "a01234b56789" {
		t.Fatalf("got %q", got)
	}
}
