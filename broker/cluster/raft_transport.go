package cluster

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// The raft port carries two protocols. The first byte of every connection says
// which: raft's own RPCs (hashicorp/raft NetworkTransport) or the controller
// RPCs (forwarded proposals, heartbeats, cluster operations; raft_rpc.go).
const (
	muxRaft       byte = 'R'
	muxController byte = 'C'
)

// raftMux accepts connections on the raft port and hands them to raft (through
// the StreamLayer it implements) or to the controller RPC server by their first
// byte. It owns the accept goroutine; Close stops it and waits.
type raftMux struct {
	ln       net.Listener
	raftConn chan net.Conn
	handle   func(net.Conn) // controller RPC connections; called on its own goroutine
	closing  chan struct{}
	wg       sync.WaitGroup
	once     sync.Once
}

func newRaftMux(ln net.Listener, handle func(net.Conn)) *raftMux {
	m := &raftMux{ln: ln, raftConn: make(chan net.Conn), handle: handle, closing: make(chan struct{})}
	m.wg.Add(1)
	go m.acceptLoop()
	return m
}

func (m *raftMux) acceptLoop() {
	defer m.wg.Done()
	for {
		c, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.closing:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.route(c)
		}()
	}
}

// route reads the protocol byte (bounded by a deadline, so a silent client
// cannot hold a goroutine) and dispatches.
func (m *raftMux) route(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b [1]byte
	if _, err := c.Read(b[:]); err != nil {
		c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	switch b[0] {
	case muxRaft:
		select {
		case m.raftConn <- c:
		case <-m.closing:
			c.Close()
		}
	case muxController:
		m.handle(c)
	default:
		c.Close()
	}
}

// Accept implements raft.StreamLayer.
func (m *raftMux) Accept() (net.Conn, error) {
	select {
	case c := <-m.raftConn:
		return c, nil
	case <-m.closing:
		return nil, net.ErrClosed
	}
}

// Close implements raft.StreamLayer; it stops accepting (the transport calls
// it on shutdown). Wait is separate so the driver can wait after raft stopped.
func (m *raftMux) Close() error {
	m.once.Do(func() {
		close(m.closing)
		m.ln.Close()
	})
	return nil
}

// wait blocks until the accept loop and every routing goroutine ended.
func (m *raftMux) wait() { m.wg.Wait() }

// Addr implements raft.StreamLayer.
func (m *raftMux) Addr() net.Addr { return m.ln.Addr() }

// Dial implements raft.StreamLayer: a raft connection announces itself.
func (m *raftMux) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return dialMux(string(addr), muxRaft, timeout)
}

func dialMux(addr string, proto byte, timeout time.Duration) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	if _, err := c.Write([]byte{proto}); err != nil {
		c.Close()
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return c, nil
}
