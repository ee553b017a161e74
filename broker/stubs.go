package broker

import (
	"context"
	"net"
)

// STUBS: the broker helper replaces this file. Signatures are the contract.

// Broker is one running node.
type Broker struct{}

// New validates cfg (after EnsureDefaults) and prepares a broker; it does not listen yet.
func New(cfg Config) (*Broker, error) { panic("unimplemented") }

// Start recovers logs, loads metadata and starts listening. It returns once the
// broker accepts connections; ctx bounds start-up only.
func (b *Broker) Start(ctx context.Context) error { panic("unimplemented") }

// Addrs returns the bound listener addresses (useful with port 0 in tests).
func (b *Broker) Addrs() []net.Addr { panic("unimplemented") }

// Shutdown stops accepting, lets in-flight requests finish until ctx is done,
// flushes and closes every log. Safe to call once.
func (b *Broker) Shutdown(ctx context.Context) error { panic("unimplemented") }
