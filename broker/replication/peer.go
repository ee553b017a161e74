package replication

import (
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// PeerConn is a connection from this broker to another broker of the cluster,
// dialed exactly as replica fetchers dial their leaders: to the peer's
// inter-broker listener as it registered it in the metadata, secured and
// authenticated by the Manager's PeerDialer (dial.go), with the same wire
// client. Other broker-to-broker requests (transaction markers) use it so
// inter-broker traffic has one way of being addressed and secured.
//
// One request at a time, non-flexible request versions only.
type PeerConn struct {
	w *wireConn
}

// DialPeer connects to broker id as the latest metadata names it. clientID
// says what the connection is for in the peer's logs.
func (m *Manager) DialPeer(id int32, clientID string, timeout time.Duration) (*PeerConn, error) {
	w, err := m.dialBroker(id, clientID, timeout)
	if err != nil {
		return nil, err
	}
	return &PeerConn{w: w}, nil
}

// Request sends req (its version set, non-flexible) and decodes the answer
// into resp, within timeout. After an error the connection must be closed.
func (c *PeerConn) Request(req kmsg.Request, resp kmsg.Response, timeout time.Duration) error {
	return c.w.request(req, resp, timeout)
}

// Close closes the connection.
func (c *PeerConn) Close() error { return c.w.Close() }

// ErrUnknownBroker: the metadata names no broker with the id (not registered
// yet, or removed). Retry once the metadata has it.
var ErrUnknownBroker = errors.New("replication: broker not in the metadata")
