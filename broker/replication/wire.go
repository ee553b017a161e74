package replication

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// wireConn is a minimal Kafka client connection for replica fetchers: one
// request at a time, non-flexible request versions only (header v1, response
// header v0), so it needs no tagged-field handling.
type wireConn struct {
	c       net.Conn
	r       *bufio.Reader
	corr    int32
	client  string
	scratch []byte
	// auth is the SASL session of a SASL peer (dial.go), nil otherwise.
	auth *saslSession
}

func dialWire(addr string, clientID string, timeout time.Duration) (*wireConn, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, fmt.Errorf("dial leader %s: %w", addr, err)
	}
	return newWireConn(c, clientID), nil
}

// newWireConn wraps an established connection (plain TCP or TLS).
func newWireConn(c net.Conn, clientID string) *wireConn {
	return &wireConn{c: c, r: bufio.NewReaderSize(c, 64<<10), client: clientID}
}

func (w *wireConn) Close() error { return w.c.Close() }

// request sends req (its version set, non-flexible) and decodes the answer
// into resp, within timeout. A SASL session that is about to expire
// (connections.max.reauth.ms on the peer, KIP-368) re-authenticates first.
func (w *wireConn) request(req kmsg.Request, resp kmsg.Response, timeout time.Duration) error {
	if w.auth != nil && w.auth.due() {
		if err := w.authenticate(w.auth.mech, w.auth.host, timeout); err != nil {
			return err
		}
	}
	return w.roundTrip(req, resp, timeout)
}

// roundTrip is request without the re-authentication check.
func (w *wireConn) roundTrip(req kmsg.Request, resp kmsg.Response, timeout time.Duration) error {
	if req.IsFlexible() {
		return fmt.Errorf("replica client: %T v%d is flexible; only non-flexible versions are used", req, req.GetVersion())
	}
	w.corr++
	b := w.scratch[:0]
	b = append(b, 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(req.Key()))
	b = binary.BigEndian.AppendUint16(b, uint16(req.GetVersion()))
	b = binary.BigEndian.AppendUint32(b, uint32(w.corr))
	b = binary.BigEndian.AppendUint16(b, uint16(len(w.client)))
	b = append(b, w.client...)
	b = req.AppendTo(b)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	w.scratch = b[:0]
	if err := w.c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	if _, err := w.c.Write(b); err != nil {
		return fmt.Errorf("send %T: %w", req, err)
	}
	var hdr [8]byte
	if _, err := io.ReadFull(w.r, hdr[:]); err != nil {
		return fmt.Errorf("read %T response: %w", req, err)
	}
	size := int32(binary.BigEndian.Uint32(hdr[:4]))
	if corr := int32(binary.BigEndian.Uint32(hdr[4:])); corr != w.corr {
		return fmt.Errorf("response correlation id %d, want %d", corr, w.corr)
	}
	if size < 4 || size > 256<<20 {
		return fmt.Errorf("response size %d out of bounds", size)
	}
	body := make([]byte, size-4)
	if _, err := io.ReadFull(w.r, body); err != nil {
		return fmt.Errorf("read %T response: %w", req, err)
	}
	resp.SetVersion(req.GetVersion())
	if err := resp.ReadFrom(body); err != nil {
		return fmt.Errorf("decode %T: %w", resp, err)
	}
	return nil
}
