package e2e

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker"
)

// rawConn speaks the Kafka protocol on one connection by hand, to do what
// no client does on purpose: authenticate once and never again.
type rawConn struct {
	conn net.Conn
	fmt  *kmsg.RequestFormatter
	corr int32
}

// roundTrip sends req and decodes the answer into resp (non-flexible
// versions only: the response header is the correlation id alone).
func (c *rawConn) roundTrip(req kmsg.Request, resp kmsg.Response) error {
	c.corr++
	if err := c.conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return err
	}
	if _, err := c.conn.Write(c.fmt.AppendRequest(nil, req, c.corr)); err != nil {
		return fmt.Errorf("write %s: %w", kmsg.NameForKey(req.Key()), err)
	}
	var size [4]byte
	if _, err := io.ReadFull(c.conn, size[:]); err != nil {
		return fmt.Errorf("read %s answer: %w", kmsg.NameForKey(req.Key()), err)
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c.conn, body); err != nil {
		return fmt.Errorf("read %s answer: %w", kmsg.NameForKey(req.Key()), err)
	}
	if len(body) < 4 || int32(binary.BigEndian.Uint32(body)) != c.corr {
		return fmt.Errorf("%s answer: bad correlation id", kmsg.NameForKey(req.Key()))
	}
	resp.SetVersion(req.GetVersion())
	return resp.ReadFrom(body[4:])
}

// TestReauthenticationEnforced: with connections.max.reauth.ms set, the
// broker tells the client its session lifetime in SaslAuthenticate (at most
// the configured maximum) and closes a connection that keeps sending
// requests after the session expired without re-authenticating (KIP-368).
func TestReauthenticationEnforced(t *testing.T) {
	const lifetime = time.Second
	n := startNode(t, func(c *broker.Config) { c.Security.ReauthMax = lifetime })
	conn, err := net.DialTimeout("tcp", n.addrs[lnSASLPlain], 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := &rawConn{conn: conn, fmt: kmsg.NewRequestFormatter(kmsg.FormatterClientID("no-reauth"))}

	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version, hs.Mechanism = 1, "PLAIN"
	hsResp := kmsg.NewPtrSASLHandshakeResponse()
	if err := c.roundTrip(hs, hsResp); err != nil || hsResp.ErrorCode != 0 {
		t.Fatalf("SaslHandshake PLAIN: %v, error code %d", err, hsResp.ErrorCode)
	}
	au := kmsg.NewPtrSASLAuthenticateRequest()
	au.Version, au.SASLAuthBytes = 1, []byte("\x00"+adminUser+"\x00"+adminPass)
	auResp := kmsg.NewPtrSASLAuthenticateResponse()
	if err := c.roundTrip(au, auResp); err != nil || auResp.ErrorCode != 0 {
		t.Fatalf("SaslAuthenticate: %v, error code %d", err, auResp.ErrorCode)
	}
	if got := time.Duration(auResp.SessionLifetimeMillis) * time.Millisecond; got <= 0 || got > lifetime {
		t.Fatalf("session lifetime %v, want in (0, %v]", got, lifetime)
	}
	md := kmsg.NewPtrMetadataRequest()
	md.Version = 1
	if err := c.roundTrip(md, kmsg.NewPtrMetadataResponse()); err != nil {
		t.Fatalf("a request within the session: %v", err)
	}

	// Past the lifetime, without re-authenticating: the broker closes the
	// connection instead of answering.
	expired := time.Now().Add(lifetime + 500*time.Millisecond)
	for time.Now().Before(expired) {
		time.Sleep(50 * time.Millisecond) // waiting for the wall clock to pass the session's end
	}
	err = c.roundTrip(md, kmsg.NewPtrMetadataResponse())
	var ne net.Error
	switch {
	case err == nil:
		t.Fatal("a request after the session expired was answered, want the connection closed")
	case errors.As(err, &ne) && ne.Timeout():
		t.Fatalf("a request after the session expired: %v; want the connection closed, not left open unanswered", err)
	}
}
