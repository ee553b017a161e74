package replication

import (
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// PeerConn is a connection from this broker to another broker of the cluster,
// dialed exactly as replica fetchers dial their leaders: to the address the
// peer registered in the metadata, with the same wire client. Other
// broker-to-broker requests (transaction markers) use it so inter-broker
// traffic has one way of being addressed and secured.
//
// One request at a time, non-flexible request versions only.
type PeerConn struct {
	w *wireConn
}

// DialPeer connects to broker id as the latest metadata names it. clientID
// says what the connection is for in the peer's logs.
func (m *Manager) DialPeer(id int32, clientID string, timeout time.Duration) (*PeerConn, error) {
	addr, ok := m.brokerAddr(id)
	if !ok {
		return nil, fmt.Errorf("dial broker %d: %w", id, ErrUnknownBroker)
	}
	w, err := dialWire(addr, clientID, timeout)
	if err != nil {
		return nil, fmt.Errorf("dial broker %d: %w", id, err)
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
