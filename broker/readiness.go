package broker

import "sync/atomic"

// ReadyCheck is one condition a node must meet before it serves clients, as
// /readyz reports it.
type ReadyCheck struct {
	// Name says what is checked: "logs", "metadata", "groups", "transactions"
	// or "listeners".
	Name string `json:"name"`
	// OK is true once the condition holds.
	OK bool `json:"ok"`
}

// readiness tracks Start's progress; each flag is set once its step is done
// and cleared again by Shutdown. Atomics, because /readyz reads them while
// Start (which holds b.mu) is still loading.
type readiness struct {
	logs, metadata, groups, txns, listening atomic.Bool
}

// Readiness reports, in start order, whether logs were recovered, metadata
// loaded, the group and transaction coordinators loaded, and the listeners
// accept connections. The broker is ready when every check is OK. Safe to
// call at any time, from any goroutine, including while Start runs.
func (b *Broker) Readiness() []ReadyCheck {
	r := &b.ready
	return []ReadyCheck{
		{"logs", r.logs.Load()},
		{"metadata", r.metadata.Load()},
		{"groups", r.groups.Load()},
		{"transactions", r.txns.Load()},
		{"listeners", r.listening.Load()},
	}
}

// clear marks everything not ready (Shutdown, or a failed Start).
func (r *readiness) clear() {
	for _, f := range []*atomic.Bool{&r.listening, &r.txns, &r.groups, &r.metadata, &r.logs} {
		f.Store(false)
	}
}
