package kafka

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/log"
)

const (
	// readBufferSize is the bufio size in front of each connection.
	readBufferSize = 32 << 10
	// keepBufferMax is the largest request or response buffer a connection keeps
	// for reuse; larger ones are one-offs, so an idle connection holds little memory.
	keepBufferMax = 1 << 20
	// outQueue is how many encoded responses may wait for the writer.
	outQueue = 16
	// holdMax bounds the answers the reader holds back to write in one call.
	holdMax = 64 << 10
)

// conn is one client connection. The reader goroutine (serve) reads, decodes and
// handles requests one at a time, in order, and queues each encoded response; the
// writer goroutine sends them in the same order. When the writer is idle the
// reader writes a small answer itself (see send).
type conn struct {
	s    *Server
	nc   net.Conn
	info ConnInfo

	out chan *outFrame
	// queued counts frames handed to the writer and not yet written. Only the
	// reader adds to it, so when the reader sees zero the writer is idle.
	queued atomic.Int32
	// free recycles response buffers from the writer back to the reader.
	free chan []byte
	// reqBuf is the reader's reusable frame buffer. Reuse is safe because the
	// response is fully encoded (it never aliases the request) before the next read.
	reqBuf []byte
	// held are answers the reader has encoded but not written, because the
	// client's next request was already buffered (see send). Only the reader
	// touches it, and only while the writer is idle.
	held []byte
}

// outFrame is one encoded response. For most responses buf is the whole frame.
// A fetch response sent with sendfile also has segs: file regions to send in the
// middle of buf.
type outFrame struct {
	buf  []byte
	segs []segment
	// release frees what the frame holds (log read results); may be nil.
	release func()
}

// segment is a file region sent after buf[prev.at:at].
type segment struct {
	at     int
	region log.Region
}

func newConn(s *Server, nc net.Conn, info ConnInfo) *conn {
	return &conn{
		s:    s,
		nc:   nc,
		info: info,
		out:  make(chan *outFrame, outQueue),
		free: make(chan []byte, outQueue),
	}
}

// stopReading makes a pending or later read return at once (Shutdown). A request
// already being handled completes and its answer is still written.
func (c *conn) stopReading() {
	_ = c.nc.SetReadDeadline(time.Now())
}

// serve runs the connection until the client hangs up, a request cannot be
// answered, or the server shuts down. It owns the writer goroutine.
func (c *conn) serve() {
	if err := c.handshake(); err != nil {
		// Plaintext bytes on a TLS listener, an expired or untrusted client
		// certificate: the client learns nothing beyond the TLS alert.
		c.nc.Close()
		c.s.logger.Info("closing connection: tls handshake failed", "conn", c.info.ID, "remote", c.info.RemoteAddr, "err", err)
		return
	}
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop()
	}()
	err := c.readLoop()
	close(c.out)
	<-writerDone
	c.nc.Close()

	switch {
	case err == nil, errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), errors.Is(err, os.ErrDeadlineExceeded):
		c.s.logger.Debug("connection closed", "conn", c.info.ID, "remote", c.info.RemoteAddr, "err", err)
	case errors.Is(err, errWriteFailed):
		c.s.logger.Debug("write failed; connection closed", "conn", c.info.ID, "remote", c.info.RemoteAddr, "err", err)
	case errors.Is(err, errHandlerPanic):
		c.s.logger.Error("closing connection after a handler panic", "conn", c.info.ID, "remote", c.info.RemoteAddr, "err", err)
	case isProtocolError(err):
		c.s.logger.Warn("closing connection: request cannot be answered", "conn", c.info.ID, "remote", c.info.RemoteAddr, "err", err)
	default:
		c.s.logger.Warn("closing connection", "conn", c.info.ID, "remote", c.info.RemoteAddr, "err", err)
	}
}

// readLoop reads, decodes and handles requests until an error. Answers it
// held back are written before it returns.
func (c *conn) readLoop() (err error) {
	defer func() {
		if ferr := c.flushHeld(); err == nil {
			err = ferr
		}
	}()
	br := bufio.NewReaderSize(c.nc, readBufferSize)
	var sizeBuf [4]byte
	maxSize := c.s.cfg.MaxRequestBytes
	for {
		// The idle deadline is set before checking for shutdown: Shutdown marks
		// the server closed before it moves every deadline to now, so either the
		// check sees the shutdown or the deadline set here is overridden.
		if err := c.nc.SetReadDeadline(time.Now().Add(c.s.cfg.IdleTimeout)); err != nil {
			return err
		}
		if c.s.closed() {
			return nil
		}
		if _, err := io.ReadFull(br, sizeBuf[:]); err != nil {
			return err
		}
		size := int32(binary.BigEndian.Uint32(sizeBuf[:]))
		if size < 0 || size > maxSize {
			// Reading on would mean trusting a length we refuse; Kafka closes too.
			return fmt.Errorf("%w: %d bytes (socket.request.max.bytes=%d)", ErrFrameSize, size, maxSize)
		}
		frame, err := c.readFrame(br, int(size))
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("read %d-byte request: %w", size, err)
		}
		f, err := c.handle(frame)
		if err != nil {
			return err
		}
		waiting := requestWaiting(br)
		if f != nil {
			if err := c.send(f, waiting); err != nil {
				return err
			}
		} else if !waiting {
			// No answer (acks=0), and the next read may block: nothing may
			// stay held while the reader waits for the client.
			if err := c.flushHeld(); err != nil {
				return err
			}
		}
	}
}

// errWriteFailed marks an answer the reader could not write itself: the
// client went away, which is logged like a hang-up, not as a broker problem.
var errWriteFailed = errors.New("kafka: write answer")

// send answers with f. When the writer has nothing queued or in progress and f
// needs no sendfile, the reader writes f itself: waking the writer goroutine
// for every answer was a visible share of the broker's CPU at a few thousand
// produce requests a second. If, in addition, the client's whole next request
// is already buffered (waiting), f is held and written together with the
// next answer: a producer with several requests in flight gets its answers in
// fewer writes (fewer system calls here, fewer wake-ups in the client). handle
// writes held answers before serving a request that may wait (anything but a
// produce with acks 0 or 1), so holding delays an answer by one append at most.
// Otherwise f joins the writer's queue, behind the answers still being
// written, so answers keep their order; large fetches go to the writer so the
// reader can take the next request meanwhile.
func (c *conn) send(f *outFrame, waiting bool) error {
	if len(f.segs) == 0 && c.queued.Load() == 0 {
		if len(c.held) > 0 || (waiting && len(f.buf) < holdMax) {
			c.held = append(c.held, f.buf...)
			c.recycle(f)
			if waiting && len(c.held) < holdMax {
				return nil
			}
			return c.flushHeld()
		}
	}
	if err := c.flushHeld(); err != nil {
		return err
	}
	if c.queued.Load() > 0 || f.regionBytes() > copyBelowBytes {
		c.queued.Add(1)
		c.out <- f
		return nil
	}
	err := c.writeFrame(f)
	c.recycle(f)
	if err != nil {
		return fmt.Errorf("%w: %w", errWriteFailed, err)
	}
	return nil
}

// flushHeld writes the answers held back by send, in one call.
func (c *conn) flushHeld() error {
	if len(c.held) == 0 {
		return nil
	}
	err := c.writeFrame(&outFrame{buf: c.held})
	c.held = c.held[:0]
	if cap(c.held) > keepBufferMax {
		c.held = nil
	}
	if err != nil {
		return fmt.Errorf("%w: %w", errWriteFailed, err)
	}
	return nil
}

// requestWaiting reports whether br already holds the whole next request, so
// reading it cannot block on the client.
func requestWaiting(br *bufio.Reader) bool {
	n := br.Buffered()
	if n < 4 {
		return false
	}
	b, err := br.Peek(4)
	return err == nil && int64(n-4) >= int64(binary.BigEndian.Uint32(b))
}

// quickRequest reports whether serving d never waits for anything but the
// local log (a produce with acks 0 or 1), so answers held back by send may stay
// held while it is served.
func quickRequest(d decoded) bool {
	req, ok := d.req.Msg.(*kmsg.ProduceRequest)
	return ok && req.Acks != -1
}

// readFrame reads the next n-byte request. Small frames reuse the connection's
// buffer. A large one grows as its bytes arrive, so a client announcing 100 MiB
// and sending little does not make the broker hold 100 MiB.
func (c *conn) readFrame(r io.Reader, n int) ([]byte, error) {
	if n <= keepBufferMax {
		if cap(c.reqBuf) < n {
			c.reqBuf = make([]byte, n, max(n, 4096))
		}
		frame := c.reqBuf[:n]
		_, err := io.ReadFull(r, frame)
		return frame, err
	}
	buf := make([]byte, 0, keepBufferMax)
	for len(buf) < n {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(cap(buf), n-len(buf)))
		}
		m, err := io.ReadFull(r, buf[len(buf):min(cap(buf), n)])
		buf = buf[:len(buf)+m]
		if err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// handle decodes and serves one request and encodes its answer (nil: no answer).
func (c *conn) handle(frame []byte) (*outFrame, error) {
	if len(frame) >= 2 && !decodesInPlace(int16(binary.BigEndian.Uint16(frame))) {
		// The decoded request's byte fields alias the frame, and the frame buffer is
		// reused for the next request. Handlers other than Produce and Fetch may keep
		// those bytes (group member metadata, assignments), so they get their own copy.
		frame = bytes.Clone(frame)
	}
	d, err := c.s.decodeRequest(frame, &c.info)
	if err != nil {
		return nil, err
	}
	if !quickRequest(d) {
		if err := c.flushHeld(); err != nil {
			return nil, err
		}
	}
	resp, err := c.s.serveRequest(d)
	if err != nil {
		return nil, fmt.Errorf("%w (correlation id %d, client %q)", err, d.req.CorrelationID, d.req.ClientID)
	}
	if resp == nil {
		return nil, nil
	}
	if !d.unsupportedAPIVersions {
		// Handlers build their response from the request; make sure the version
		// matches so the client can decode it.
		resp.SetVersion(d.req.Version)
	}
	buf := c.responseBuffer()
	if sp, ok := resp.(splicedResponse); ok {
		return sp.frame(buf, d.req), nil
	}
	return &outFrame{buf: appendResponseFrame(buf, d.req, resp)}, nil
}

// decodesInPlace reports whether requests of an API are decoded from the
// connection's reused read buffer: only the hot-path APIs whose handlers are done
// with every byte of the request when they return.
func decodesInPlace(key int16) bool {
	return key == 0 || key == 1 // Produce, Fetch
}

func (c *conn) responseBuffer() []byte {
	select {
	case b := <-c.free:
		return b[:0]
	default:
		return make([]byte, 0, 4096)
	}
}

// writeLoop sends queued responses in order. After a write error it keeps draining
// (releasing what each frame holds) so the reader never blocks on a dead writer.
func (c *conn) writeLoop() {
	var werr error
	for f := range c.out {
		if werr == nil {
			werr = c.writeFrame(f)
			if werr != nil {
				c.s.logger.Debug("write failed; closing connection", "conn", c.info.ID, "remote", c.info.RemoteAddr, "err", werr)
				// Unblocks the reader, which then closes c.out.
				c.nc.Close()
			}
		}
		c.recycle(f)
		c.queued.Add(-1)
	}
}

// recycle releases what a written frame holds and keeps its buffer for reuse.
func (c *conn) recycle(f *outFrame) {
	if f.release != nil {
		f.release()
	}
	if cap(f.buf) <= keepBufferMax {
		select {
		case c.free <- f.buf:
		default:
		}
	}
}

// writeFrame writes one response, with sendfile for file regions when possible.
func (c *conn) writeFrame(f *outFrame) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("writing response panicked: %v", p)
		}
	}()
	// A client that stops reading must not hold the connection forever.
	if err := c.nc.SetWriteDeadline(time.Now().Add(c.s.cfg.IdleTimeout)); err != nil {
		return err
	}
	if len(f.segs) == 0 {
		_, err := c.nc.Write(f.buf)
		return err
	}
	return writeSpliced(c.nc, f)
}
