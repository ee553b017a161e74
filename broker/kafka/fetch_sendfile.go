package kafka

import (
	"fmt"
	"net"
	"slices"
	"sync"
	"syscall"
)

// writeSpliced writes a frame whose segments are file regions. On a plaintext TCP
// connection the regions go from the page cache to the socket with sendfile, at
// explicit offsets (so concurrent fetches sharing a segment file never touch its
// shared offset); elsewhere (TLS, tests with net.Pipe) they are copied through memory.
func writeSpliced(nc net.Conn, f *outFrame) error {
	tcp, ok := nc.(*net.TCPConn)
	if !ok || !sendfileSupported || f.regionBytes() <= copyBelowBytes {
		return writeCopied(nc, f)
	}
	raw, err := tcp.SyscallConn()
	if err != nil {
		return writeCopied(nc, f)
	}
	// Cork the socket so the small framing writes and the regions leave in full
	// packets instead of one packet per piece.
	setCork(raw, true)
	defer setCork(raw, false)
	pos := 0
	for _, sg := range f.segs {
		if sg.at > pos {
			if _, err := nc.Write(f.buf[pos:sg.at]); err != nil {
				return err
			}
			pos = sg.at
		}
		if err := sendRegion(raw, sg.region); err != nil {
			return fmt.Errorf("sendfile %s [%d,+%d): %w", sg.region.File.Name(), sg.region.Pos, sg.region.Len, err)
		}
	}
	if pos < len(f.buf) {
		if _, err := nc.Write(f.buf[pos:]); err != nil {
			return err
		}
	}
	return nil
}

// copyBelowBytes: a frame whose regions add up to no more than this is copied
// rather than spliced. A consumer that keeps up fetches a batch or two at a
// time, and for those one read and one write (two system calls) cost less than
// corking, the framing writes, sendfile and uncorking (five or more); large
// fetches, where the copy would cost more than the calls, still use sendfile.
const copyBelowBytes = 64 << 10

// copyBufs recycles the buffers writeCopied assembles small frames in.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 0, copyBelowBytes+4096); return &b }}

// writeCopied writes a frame by reading its regions into memory.
func writeCopied(nc net.Conn, f *outFrame) error {
	bp := copyBufs.Get().(*[]byte)
	out, err := f.appendBytes((*bp)[:0])
	if err == nil {
		_, err = nc.Write(out)
	}
	if cap(out) <= copyBelowBytes+4096 {
		*bp = out[:0]
		copyBufs.Put(bp)
	}
	return err
}

// regionBytes is how many bytes the frame's file regions hold.
func (f *outFrame) regionBytes() int64 {
	var n int64
	for _, sg := range f.segs {
		n += sg.region.Len
	}
	return n
}

// appendBytes appends the whole frame to dst, reading its regions with ReadAt.
func (f *outFrame) appendBytes(dst []byte) ([]byte, error) {
	size := int64(len(f.buf))
	for _, sg := range f.segs {
		size += sg.region.Len
	}
	dst = slices.Grow(dst, int(size))
	pos := 0
	for _, sg := range f.segs {
		dst = append(dst, f.buf[pos:sg.at]...)
		pos = sg.at
		n := len(dst)
		dst = dst[:n+int(sg.region.Len)]
		if _, err := sg.region.File.ReadAt(dst[n:], sg.region.Pos); err != nil {
			return dst[:n], fmt.Errorf("read %s at %d: %w", sg.region.File.Name(), sg.region.Pos, err)
		}
	}
	return append(dst, f.buf[pos:]...), nil
}

// rawConn is the part of syscall.RawConn the sendfile helpers use.
type rawConn = syscall.RawConn
