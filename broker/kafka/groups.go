package kafka

import (
	"context"
	"net"

	"github.com/tributary-io/tributary/broker/group"
)

// SetGroups installs the group coordinator that serves the group and offset APIs
// (keys 8-16, 42, 47). Call it before Serve.
func (s *Server) SetGroups(c *group.Coordinator) { s.groups = c }

// groupsOrErr returns the coordinator, or the retriable error clients get before
// one is installed.
func (s *Server) groupsOrErr() (*group.Coordinator, error) {
	if s.groups == nil {
		return nil, group.ErrCoordinatorNotAvailable
	}
	return s.groups, nil
}

// closingContext returns a context that ends when the server shuts down, for
// requests the coordinator holds (JoinGroup, SyncGroup). The returned stop must be
// called; it waits for the goroutine that watches the shutdown.
func (s *Server) closingContext() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-s.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		cancel()
		<-done
	}
}

// clientHost is how Kafka names a member's host in DescribeGroups: "/" + its IP.
func clientHost(info *ConnInfo) string {
	if info == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(info.RemoteAddr)
	if err != nil {
		host = info.RemoteAddr
	}
	return "/" + host
}

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
