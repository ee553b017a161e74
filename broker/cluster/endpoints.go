package cluster

import (
	"fmt"
	"slices"
)

// Endpoint is one advertised listener of a broker: its name (the listener
// name in "NAME://host:port", e.g. "SASL_SSL" or "INTERNAL"), its security
// protocol (PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL) and the address
// clients of that listener dial. Brokers pick a peer's endpoint by
// inter.broker.listener.name.
type Endpoint struct {
	Name     string `json:"name"`
	Protocol string `json:"protocol"`
	Host     string `json:"host"`
	Port     int32  `json:"port"`
}

// Equal reports whether two broker records are the same, listeners included
// (Broker is not comparable with == since it holds a slice).
func (b Broker) Equal(o Broker) bool {
	return b.ID == o.ID && b.Host == o.Host && b.Port == o.Port && b.Rack == o.Rack && b.Fenced == o.Fenced &&
		b.RaftAddr == o.RaftAddr && slices.Equal(b.Listeners, o.Listeners)
}

// Endpoint returns the broker's listener called name.
func (b Broker) Endpoint(name string) (Endpoint, bool) {
	i := slices.IndexFunc(b.Listeners, func(e Endpoint) bool { return e.Name == name })
	if i < 0 {
		return Endpoint{}, false
	}
	return b.Listeners[i], true
}

// validateEndpoints checks a registration's listeners: named, addressable,
// each name once. Records without listeners (older brokers) are valid.
func validateEndpoints(b Broker) error {
	seen := map[string]bool{}
	for _, e := range b.Listeners {
		if e.Name == "" || e.Protocol == "" {
			return fmt.Errorf("%w: broker %d: listener %q needs a name and a protocol", ErrInvalidCommand, b.ID, e.Name)
		}
		if e.Host == "" || e.Port < 1 || e.Port > 65535 {
			return fmt.Errorf("%w: broker %d: listener %s address %q:%d is not usable", ErrInvalidCommand, b.ID, e.Name, e.Host, e.Port)
		}
		if seen[e.Name] {
			return fmt.Errorf("%w: broker %d: listener %s registered twice", ErrInvalidCommand, b.ID, e.Name)
		}
		seen[e.Name] = true
	}
	return nil
}
